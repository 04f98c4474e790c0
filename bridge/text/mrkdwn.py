"""Slack mrkdwn for strings a LINE friend controls: the one escaper, and clipping after it.

Why: Slack parses message ``text``, ``initial_comment`` and every ``mrkdwn`` text object, so
a friend whose display name is ``<!channel>`` or who sends a file named
``<https://evil.example/x.exe|請求書.pdf>`` would notify the whole channel or show a
disguised link. Every string that came from LINE (names, message text, file names, location
titles, sticker keywords, postback data, previews, 友だち情報 values…) goes through
:func:`escape` before it is put into anything Slack parses; :func:`bridge.i18n.slack_t` does
it for the parameters of a message, so a call site cannot forget.

Rules (Slack, "Formatting text for app surfaces" → "Escaping text"):

* ``&``, ``<`` and ``>`` are Slack's only control characters and are sent as ``&amp;``,
  ``&lt;``, ``&gt;``. After this no ``<!channel>``, ``<!here>``, ``<!subteam^…>``,
  ``<@U…>``, ``<#C…>`` or ``<url|label>`` can be formed: no mention, broadcast, user group
  or link label comes from a friend.
* ``@channel``, ``@here``, ``@everyone`` (any case) get a zero-width space after the ``@``,
  so they never notify even where a post is parsed with ``link_names``/``parse=full``.
* Formatting markers (``*``, ``_``, ``~``, backticks, ``>``) are left alone: they cannot
  notify or link, mrkdwn has no escape for them, and a friend's ``*大事*`` reads fine bold.
  Bare URLs a friend writes are still linked by Slack, showing the real address.

``plain_text`` objects, ``username`` (the friend's name shown as author of a relayed message),
file titles and ``alt_text`` are not parsed by Slack ("plain_text: ... formatting is not
applied"); they get the friend's text as it is, never escaped (escaping would show ``&amp;``).

Escaping can make a text up to 5× longer (``&`` → ``&amp;``): :func:`clip` cuts *after*
escaping, never inside an entity, so a section stays within Block Kit's 3,000 characters.
"""
from __future__ import annotations

import re

__all__ = ["escape", "clip", "SECTION_LIMIT"]

SECTION_LIMIT = 3000  # Block Kit: text of a section / a context element, in characters

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile("[&<>]")
# "@channel" / "@here" / "@everyone" as a word (any case); an "@" right after an
# e-mail local part ("info@here.com") is not a mention and is left alone.
_BROADCAST_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])@(?=(?:channel|here|everyone)(?![A-Za-z0-9_]))", re.I
)
_ZWSP = "\u200b"
_ENTITY_TAIL_RE = re.compile(r"&[a-z]{0,3}$")  # an entity cut short at the end of a clip


def escape(text: str) -> str:
    """``text`` from LINE as Slack mrkdwn that shows exactly what the friend wrote and cannot
    mention, broadcast, link or notify (rules in the module docstring)."""
    text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], str(text))
    return _BROADCAST_RE.sub("@" + _ZWSP, text)


def clip(text: str, limit: int = SECTION_LIMIT, ellipsis: str = "…") -> str:
    """``text`` (already mrkdwn) cut to at most ``limit`` characters, ending with ``ellipsis``
    when cut. Never cuts inside ``&amp;``/``&lt;``/``&gt;``, so what Slack shows stays whole."""
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - len(ellipsis))]
    head = _ENTITY_TAIL_RE.sub("", head)
    if head and "\ud800" <= head[-1] <= "\udbff":  # half a surrogate pair (only from odd input)
        head = head[:-1]
    return head + ellipsis
