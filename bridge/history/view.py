"""Transcript entries → what the history page shows: days, messages, events, search matches.

Pure functions over the entry schema of :mod:`bridge.friends.transcript` (old entries without
``id``/``media``/``via``/``status`` render too: they have ``files``, Slack links, instead of
archived media). Nothing here is markup: the template escapes every string, and a search match
is a list of (text, matched) segments, never HTML.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bridge.i18n import t

SHA256_HEX = frozenset("0123456789abcdef")
MEDIA_KINDS = ("image", "video", "audio", "file")
SLACK_EMOJI = re.compile(r":[a-z0-9_+-]+:")  # a mark's Slack emoji (":rage: クレーム"): no meaning outside Slack
WEEKDAYS = {"ja": "月火水木金土日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


@dataclass
class Media:
    url: str
    kind: str        # "image" | "video" | "audio" | "file"
    name: str
    size: str


@dataclass
class Item:
    anchor: str
    time: str
    dir: str          # in | out | note | auto | event
    who: str
    label: str        # e.g. 自動応答, 定型文, 社内メモ ("" for a plain message)
    segments: list[tuple[str, bool]]   # the text, split at search matches
    media: list[Media] = field(default_factory=list)
    links: list[str] = field(default_factory=list)   # old entries: Slack file links
    flags: list[str] = field(default_factory=list)   # 編集済み, 送信取り消し, 送信失敗, プッシュ…
    failed: bool = False
    hit: int = 0      # 1-based number of this search match (0: not a match)


@dataclass
class Day:
    title: str
    items: list[Item]


@dataclass
class HistoryView:
    days: list[Day]
    count: int
    hits: int
    first: str
    last: str


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= SHA256_HEX


def parse_entries(raw: Iterable[str]) -> list[dict[str, Any]]:
    """JSON members of the transcript zset (oldest first); an unreadable one is skipped."""
    out = []
    for member in raw:
        try:
            entry = json.loads(member)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def _size(size: Any, lang: str) -> str:
    try:
        n = float(size)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _segments(text: str, query: str) -> list[tuple[str, bool]]:
    if not query or not text:
        return [(text, False)] if text else []
    low, q = text.casefold(), query.casefold()
    out, pos = [], 0
    while True:
        found = low.find(q, pos) if len(low) == len(text) else -1
        if found < 0:
            break
        if found > pos:
            out.append((text[pos:found], False))
        out.append((text[found:found + len(q)], True))
        pos = found + len(q)
    if len(low) != len(text) and q in low:  # casefold changed the length (ß…): mark the whole text
        return [(text, True)]
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _day_title(day: dt.date, lang: str) -> str:
    weekday = WEEKDAYS["ja" if lang == "ja" else "en"][day.weekday()]
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日（{weekday}）"
    return f"{weekday} {day.day} {day.strftime('%b')} {day.year}"


def _who(entry: dict[str, Any], lang: str) -> str:
    name = str(entry.get("name") or "")
    if entry.get("dir") == "auto" or (entry.get("author") in (None, "", "bridge") and name in ("", "bridge")):
        return t("history.who.bridge", lang)
    return name or str(entry.get("author") or "") or t("history.who.unknown", lang)


def _label(entry: dict[str, Any], lang: str) -> str:
    direction, kind = entry.get("dir"), str(entry.get("kind") or "")
    if direction == "note":
        return t("history.label.note", lang)
    if kind in ("autoreply", "reminder", "broadcast", "correction", "canned"):
        return t(f"history.label.{kind}", lang)
    if direction == "out":
        return t("history.label.staff", lang)
    return ""


def _event_text(entry: dict[str, Any], lang: str) -> str:
    kind = str(entry.get("kind") or "")
    value = SLACK_EMOJI.sub("", str(entry.get("text") or entry.get("value") or "")).strip()
    if kind in ("mark", "assignee"):
        return t(f"history.event.{kind}", lang, value=value or t("history.event.none", lang))
    return value or kind


def _flags(entry: dict[str, Any], lang: str) -> list[str]:
    flags = []
    if entry.get("edited"):
        flags.append(t("history.flag.edited", lang))
    if entry.get("unsent"):
        flags.append(t("history.flag.unsent", lang))
    if entry.get("status") == "failed":
        flags.append(t("history.flag.failed", lang))
    elif entry.get("status") == "cancelled":
        flags.append(t("history.flag.cancelled", lang))
    if entry.get("via") == "push" and entry.get("dir") in ("out", "auto"):
        flags.append(t("history.flag.push", lang))
    return flags


def _media(entry: dict[str, Any], media_base: str, lang: str) -> list[Media]:
    out = []
    for m in entry.get("media") or []:
        if not isinstance(m, dict) or not is_sha256(m.get("sha256")) or entry.get("unsent"):
            continue
        mime = str(m.get("type") or "")
        kind = mime.split("/", 1)[0] if mime.split("/", 1)[0] in ("image", "video", "audio") else "file"
        name = str(m.get("name") or t(f"media.kind.{kind}", lang))
        out.append(Media(f"{media_base}/{m['sha256']}", kind, name[:200], _size(m.get("size"), lang)))
    return out


def _text(entry: dict[str, Any], media: list[Media], lang: str) -> str:
    """What the page shows as the entry's text (and what a search looks in)."""
    direction = str(entry.get("dir") or "in")
    if direction == "event":
        return _event_text(entry, lang)
    if entry.get("unsent") or (direction == "in" and media and entry.get("kind") in MEDIA_KINDS):
        return ""  # a friend's photo or file is shown itself, not LINE's placeholder ("🖼️ 画像が送信されました")
    return str(entry.get("text") or "")


def matching(members: Iterable[str], query: str, lang: str) -> list[int]:
    """The positions (oldest first) of the transcript members a search for ``query`` marks on the page."""
    query = query.strip()
    if not query:
        return []
    out = []
    for n, member in enumerate(members):
        for entry in parse_entries([member]):  # none when unreadable: the position still counts
            if any(hit for _, hit in _segments(_text(entry, _media(entry, "", lang), lang), query)):
                out.append(n)
    return out


def build(entries: list[dict[str, Any]], *, tz: ZoneInfo, lang: str, query: str = "",
          media_base: str = "", position: int = 0) -> HistoryView:
    """The page's days and items (entries oldest first). ``media_base``: the URL path under which
    ``/<sha256>`` serves an archived file of this conversation; ``position``: how many entries of
    the conversation come before the page (its anchors number the whole conversation, ``#m-1`` the
    oldest). A page of a longer conversation starts with the day of its first entry, so every
    page has its own day headers."""
    query = query.strip()
    days: list[Day] = []
    hits = 0
    current: dt.date | None = None
    seen: list[dt.datetime] = []
    for n, entry in enumerate(entries):
        try:
            at = dt.datetime.fromtimestamp(float(entry.get("t") or 0), tz)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
        seen[1 if seen else 0:] = [at]  # [first, latest] time shown
        if at.date() != current:
            current = at.date()
            days.append(Day(_day_title(current, lang), []))
        direction = str(entry.get("dir") or "in")
        media = _media(entry, media_base, lang)
        segments = _segments(_text(entry, media, lang), query)
        matched = bool(query) and any(hit for _, hit in segments)
        if matched:
            hits += 1
        links = [str(u) for u in entry.get("files") or [] if isinstance(u, str) and u.startswith(("https://", "http://"))]
        days[-1].items.append(Item(
            anchor=f"m-{position + n + 1}", time=at.strftime("%H:%M"), dir=direction if direction in ("in", "out", "note", "auto", "event") else "in",
            who=_who(entry, lang), label=_label(entry, lang), segments=segments,
            media=media, links=[] if entry.get("unsent") else links,
            flags=_flags(entry, lang), failed=entry.get("status") == "failed", hit=hits if matched else 0))
    stamp = "%Y-%m-%d %H:%M"
    first = seen[0].strftime(stamp) if seen else ""
    last = seen[-1].strftime(stamp) if seen else ""
    return HistoryView(days, sum(len(d.items) for d in days), hits, first, last)


def referenced_hashes(entries: list[dict[str, Any]]) -> set[str]:
    """The archived media a conversation's entries refer to (the page's media route serves only these)."""
    return {m["sha256"] for e in entries if not e.get("unsent") for m in e.get("media") or []
            if isinstance(m, dict) and is_sha256(m.get("sha256"))}
