"""How URLs that may carry a secret are shown: forwarding targets and ``REDIS_URL``.

Why: the webhook URL another LINE tool gives out usually *is* its credential (a token in
the path or the query), and ``REDIS_URL`` holds Redis' password. Anything a person can read
— log lines at every level, Slack posts, ``bridge.admin``, ``bridge.doctor``, start-up
errors, metrics labels — shows them through these two functions only.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "[redacted]"
_SECRET_QUERY = ("password", "sentinel_password", "pass", "pwd", "token", "secret", "key")


def shown_url(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no credentials, path, query or fragment."""
    try:
        parts = urlsplit(str(url))
        host, port = parts.hostname, parts.port
    except ValueError:
        return "(invalid URL)"
    if not parts.scheme or not host:
        return "(invalid URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def redacted_redis_url(url: str) -> str:
    """``url`` with its password (and any password-like query value) replaced by ``[redacted]``.

    The credentials end at the *last* ``@`` before the path (a password may itself contain
    ``@``, or even ``/`` when the user did not percent-encode it):
    ``redis://:p@ss@host:6379/0`` → ``redis://:[redacted]@host:6379/0``.
    """
    url = str(url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, qmark, query = rest.partition("?")
    if "@" in rest:
        userinfo, _, hosts = rest.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        rest = f"{user}:{MASK}@{hosts}" if colon else f"{MASK}@{hosts}"
    if qmark:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in _SECRET_QUERY else v) for k, v in pairs], safe="[]:/,")
    return f"{scheme}://{rest}" + (f"?{query}" if qmark else "")


def url_secrets(url: str) -> list[str]:
    """The parts of a forwarding URL that may be a secret, for the log formatter's redaction."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return [str(url)]
    found = [str(url), str(url).partition("://")[2]]
    if parts.password:
        found.append(parts.password)
    if parts.query:
        found += [parts.query] + [v for _, v in parse_qsl(parts.query) if len(v) >= 6]
    if parts.query:
        found.append(f"{parts.path}?{parts.query}")
    if len(parts.path) >= 16:  # a short path ("/webhook") holds no secret, and masking it would garble our own routes
        found.append(parts.path)
    found += [seg for seg in parts.path.split("/") if len(seg) >= 12]  # token-like path segments
    return [s for s in found if s]


_ANY_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>|()]+")


def scrub_urls(text: str) -> str:
    """``text`` with every URL in it shown by :func:`shown_url` (for reasons and errors a person
    reads: a dead-letter reason, an exception's text), whatever produced it."""
    def shown(match: re.Match) -> str:
        url = match.group()
        core = url.rstrip(".,:;")
        return shown_url(core) + url[len(core):]

    return _ANY_URL.sub(shown, str(text))
