"""Short human durations for status lines: ``2時間15分`` / ``2 h 15 min``.

Pure functions; Japanese unless ``lang`` starts with "en". Durations are floored
(a friend waiting 59 s has waited "just now", 119 s is "1 min").
"""
from __future__ import annotations

__all__ = ["waited", "ago"]

_MINUTE = 60
_HOUR = 3600
_DAY = 86400


def _en(lang: str | None) -> bool:
    return (lang or "").lower().startswith("en")


def waited(seconds: float, lang: str = "ja") -> str:
    """A duration: "たった今" / "just now" under a minute, then "3分", "2時間15分", "1日4時間", "3日".

    Hours are shown next to days only below 3 days (beyond that they are noise).
    Negative durations (clock skew) count as zero.
    """
    en = _en(lang)
    s = int(max(0.0, float(seconds)))
    if s < _MINUTE:
        return "just now" if en else "たった今"
    if s < _HOUR:
        m = s // _MINUTE
        return f"{m} min" if en else f"{m}分"
    if s < _DAY:
        h, m = divmod(s // _MINUTE, 60)
        if en:
            return f"{h} h {m} min" if m else f"{h} h"
        return f"{h}時間{m}分" if m else f"{h}時間"
    d, rest = divmod(s, _DAY)
    h = rest // _HOUR
    if en:
        days = f"{d} day" if d == 1 else f"{d} days"
        return f"{days} {h} h" if d < 3 and h else days
    return f"{d}日{h}時間" if d < 3 and h else f"{d}日"


def ago(ts: float, now: float, lang: str = "ja") -> str:
    """How long ago ``ts`` was at ``now`` (epoch seconds): "5分前" / "5 min ago", "たった今" / "just now"."""
    span = now - ts
    text = waited(span, lang)
    if span < _MINUTE:
        return text
    return f"{text} ago" if _en(lang) else f"{text}前"
