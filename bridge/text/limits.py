"""LINE's size limits: UTF-16 length, splitting long texts, batches of 5, previews.

LINE Messaging API, text message object: ``text`` is at most 5000 characters, and
"Character counting in a text" says characters are counted in UTF-16 code units (an
emoji such as 🍎 counts as 2). A reply/push carries at most 5 message objects.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["LINE_TEXT_LIMIT", "LINE_MESSAGES_PER_REQUEST", "utf16_len", "split_for_line", "batch", "preview"]

#: LINE text message object: max 5000 characters, counted in UTF-16 code units.
LINE_TEXT_LIMIT = 5000
#: LINE reply/push/multicast: max 5 message objects per request.
LINE_MESSAGES_PER_REQUEST = 5

T = TypeVar("T")


# ---------------------------------------------------------------------------
# LINE limits
# ---------------------------------------------------------------------------


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units, the unit LINE counts text limits in.

    ("Character counting in a text": 🍎 counts as 2.) Lone surrogates count as 1.
    """
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _extends(ch: str) -> bool:
    """True for a code point that belongs to the grapheme cluster before it."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")  # combining marks, keycap U+20E3
        or cp == 0x200D  # zero-width joiner
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (🏴󠁧󠁢󠁥󠁮󠁧󠁿)
        or 0x1160 <= cp <= 0x11FF  # Hangul jamo V/T
        or 0xD7B0 <= cp <= 0xD7FF
        or 0xDC00 <= cp <= 0xDFFF  # low surrogate (when a pair arrives unjoined)
    )


def _safe_breaks(text: str) -> list[bool]:
    """``ok[i]`` is True when the text may be cut right before index ``i``.

    A simplified UAX #29 grapheme-cluster check: no cut before a combining/extending
    code point, after a ZWJ, between CR and LF, or inside a regional-indicator pair
    (a flag such as 🇯🇵).
    """
    n = len(text)
    ok = [True] * (n + 1)
    ri_run = 0
    for i in range(1, n):
        prev, cur = text[i - 1], text[i]
        ri_run = ri_run + 1 if _is_regional(prev) else 0
        if (
            _extends(cur)
            or prev == "\u200d"
            or (prev == "\r" and cur == "\n")
            or (_is_regional(cur) and ri_run % 2 == 1)
        ):
            ok[i] = False
    return ok


# Where a chunk may end (the character stays at the end of the chunk).
_SOFT_BREAK_AFTER = set("。、！？!?，．…")


def split_for_line(text: str, limit: int = LINE_TEXT_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 code units each.

    LINE rejects a text message longer than 5000 characters counted in UTF-16 code
    units (Messaging API reference, text message; "Character counting in a text").

    * A chunk ends preferably right after a newline, then after whitespace or
      Japanese/ASCII sentence punctuation (``。、！？!?``), looking only at the second
      half of the allowed window so chunks stay large; otherwise the cut is hard.
    * Cuts never fall inside a grapheme cluster (emoji ZWJ sequences, flags, skin
      tones, combining marks) unless a single cluster is longer than ``limit``; a
      surrogate pair is never split.
    * Nothing is dropped: ``"".join(chunks) == text``, except that chunks consisting
      only of whitespace are left out. Empty/whitespace-only text → ``[]``.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 code units")
    if not text.strip():
        return []
    if utf16_len(text) <= limit:
        return [text]

    ok = _safe_breaks(text)
    n = len(text)
    chunks: list[str] = []
    start = 0
    while start < n:
        # Furthest end index whose chunk fits in `limit` units.
        end, used = start, 0
        while end < n and used + _units(text[end]) <= limit:
            used += _units(text[end])
            end += 1
        if end == n:
            cut = n
        else:
            cut = _choose_cut(text, ok, start, end)
        chunk = text[start:cut]
        if chunk.strip():
            chunks.append(chunk)
        start = cut
    return chunks


def _choose_cut(text: str, ok: list[bool], start: int, end: int) -> int:
    """Index in (start, end] to cut at; ``end`` is the first index that does not fit."""
    floor = start + max(1, (end - start) // 2)
    # 1. right after a newline, 2. right after whitespace / punctuation.
    for accept in (
        lambda ch: ch == "\n",
        lambda ch: ch.isspace() or ch in _SOFT_BREAK_AFTER,
    ):
        for i in range(end, floor - 1, -1):
            if i > start and accept(text[i - 1]) and ok[i]:
                return i
    # 3. hard cut at the last grapheme boundary that fits.
    for i in range(end, start, -1):
        if ok[i]:
            return i
    # 4. a single cluster longer than the limit: cut between code points anyway (a
    #    Python str never splits a surrogate pair; keep an unjoined pair together).
    if end - 1 > start and 0xD800 <= ord(text[end - 1]) <= 0xDBFF:
        return end - 1
    return end


def batch(items: Sequence[T], size: int = LINE_MESSAGES_PER_REQUEST) -> list[list[T]]:
    """Group ``items`` into lists of at most ``size`` (LINE: 5 messages per request)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------
# Previews
# ---------------------------------------------------------------------------


def preview(text: str, width: int = 60) -> str:
    """One-line excerpt of ``text`` for status lines.

    Every run of whitespace (newlines included) becomes one space; the result is at
    most ``width`` characters (code points), ending in ``…`` when it was cut. The cut
    does not split an emoji sequence or a combining sequence.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    ok = _safe_breaks(flat)
    cut = width - 1
    while cut > 0 and not ok[cut]:
        cut -= 1
    return flat[:cut].rstrip() + "…"
