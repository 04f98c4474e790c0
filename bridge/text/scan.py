"""Linear-time scanners for the Slack markup that regexes would match in quadratic time.

Staff and friend text can be anything a platform accepts (up to 40,000 characters in Slack):
every conversion run on it must take time proportional to its length, or one crafted message
holds a conversation's stream (and its lock) for seconds. The lazy regexes these replace
(``*(.+?)*`` with look-arounds, ```` ```(.+?)``` ````) retried every later candidate for every
opener that never closes. Pure functions, no I/O.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

FENCE = "```"


def strip_marker(text: str, marker: str) -> str:
    """Remove the ``marker`` pairs Slack shows as formatting, keeping what they enclose.

    Slack treats a marker pair as formatting only when the opening marker is not preceded by
    a letter/digit and is followed by a non-space, and the closing one is preceded by a
    non-space (not the marker) and not followed by a letter/digit; it never spans lines.
    Letters include CJK, so "これは*重要*です" stays literal, exactly as the Slack user saw it,
    while "これは *重要* です" and "「*重要*」" are bold. Left to right, each opener takes the
    nearest closer on its line.

    Why a scanner and not a regex: the equivalent lazy regex tries every later marker of the
    line for every opener that never closes, so 40,000 characters of "(*x" took seconds
    (quadratic), long enough for a stream lock to expire mid-item. Here every marker is looked
    at a bounded number of times: the valid closers are listed once, and each opener finds
    the nearest one with a binary search.
    """
    if marker not in text:
        return text
    n = len(text)
    positions = [i for i, c in enumerate(text) if c == marker]
    closers = [q for q in positions
               if q > 0 and not text[q - 1].isspace() and text[q - 1] != marker
               and not (q + 1 < n and text[q + 1].isalnum())]
    out: list[str] = []
    pos = 0
    line_end = -1  # end of the line of the current opener (cached: each line is searched once)
    for p in positions:
        if p < pos or (p > 0 and text[p - 1].isalnum()) or p + 1 >= n:
            continue
        after = text[p + 1]
        if after.isspace() or after == marker:
            continue
        if p >= line_end:
            line_end = text.find("\n", p)
            line_end = n if line_end < 0 else line_end
        k = bisect_left(closers, p + 2)
        if k < len(closers) and closers[k] < line_end:
            q = closers[k]
            out.append(text[pos:p])
            out.append(text[p + 1:q])
            pos = q + 1
    out.append(text[pos:])
    return "".join(out)


def replace_fences(text: str, render: Callable[[str, str], str]) -> str:
    """Replace each ```fenced``` block (at least one character inside, may span lines) by
    ``render(content, whole)``; left to right, each opening fence takes the nearest later one.

    A linear scan: when an opening fence has no closing one, no later fence can have one either
    (its closer would also close the earlier fence), so the scan stops there.
    """
    out: list[str] = []
    pos = 0
    while True:
        p = text.find(FENCE, pos)
        q = text.find(FENCE, p + len(FENCE) + 1) if p >= 0 else -1
        if q < 0:
            break
        out.append(text[pos:p])
        out.append(render(text[p + len(FENCE):q], text[p:q + len(FENCE)]))
        pos = q + len(FENCE)
    out.append(text[pos:])
    return "".join(out)
