"""Everything a Slack user or a LINE friend reads, in Japanese (default) and English.

``t(key, lang, **params)`` formats one message. Each module of this package holds the
strings of one capability in a ``MESSAGES`` dict (``{"key": {"ja": …, "en": …}}``); they
are collected here, and a key defined twice is an error at import time.
"""
from __future__ import annotations

import importlib
import pkgutil

MESSAGES: dict[str, dict[str, str]] = {}

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    for _key, _value in importlib.import_module(f"{__name__}.{_module}").MESSAGES.items():
        if _key in MESSAGES:
            raise RuntimeError(f"i18n key {_key!r} is defined twice (bridge.i18n.{_module})")
        MESSAGES[_key] = _value


def t(key: str, lang: str = "ja", **params: object) -> str:
    """Format message ``key`` in ``lang`` (falls back to Japanese, then to the key itself)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry["ja"]
    return template.format(**params) if params else template


class Mrkdwn(str):
    """A parameter that already is Slack markup (a ``<@U…>`` mention, a link the bridge built,
    staff-typed text): :func:`slack_t` passes it through unescaped."""


def slack_t(key: str, lang: str = "ja", **params: object) -> str:
    """:func:`t` for Slack text (mrkdwn): every ``str`` parameter is escaped with
    :func:`bridge.text.mrkdwn.escape` unless it is wrapped in :class:`Mrkdwn`.

    Why: most parameters of Slack messages (names, previews, file names…) came from LINE, and
    forgetting to escape one lets a friend ping the channel; here escaping is the default and
    passing markup through is the visible exception."""
    from bridge.text.mrkdwn import escape

    safe = {k: v if isinstance(v, Mrkdwn) or not isinstance(v, str) else escape(v) for k, v in params.items()}
    return t(key, lang, **safe)
