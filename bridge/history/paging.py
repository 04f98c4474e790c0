"""The history page's paging parameters: ``?before=<score>~<skip>`` (older) and ``?after=<score>~<skip>`` (newer).

A long conversation is shown a page at a time, newest page first (a friend of several years would
otherwise make a page of many MB, slow to build and to open on a phone). The links to the older
and newer pages keep the signed token in the path and add a cursor (:data:`bridge.store.history.Cursor`)
in the query. The cursor needs no signature of its own: it only says *where* in a conversation the
token already grants, so a hand-made one can show nothing else. It is still read strictly — a
cursor that is not exactly what the page writes is refused (:class:`CursorInvalid`, a 400 page),
never passed on to Redis or allowed to become a 500.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from urllib.parse import urlencode

CURSOR = re.compile(r"^(-?\d{1,17}(?:\.\d{1,20})?(?:e[+-]?\d{1,3})?)~(\d{1,9})$")  # repr(float) ~ skip


class CursorInvalid(ValueError):
    pass


def encode(cursor: tuple[float, int]) -> str:
    return f"{cursor[0]!r}~{cursor[1]}"


def decode(raw: str) -> tuple[float, int]:
    match = CURSOR.match(raw)
    if not match:
        raise CursorInvalid(raw[:40])
    score = float(match.group(1))
    if not math.isfinite(score):
        raise CursorInvalid(raw[:40])
    return score, int(match.group(2))


def read(args: Mapping[str, str]) -> tuple[tuple[float, int] | None, tuple[float, int] | None]:
    """(before, after) of the request's query; at most one of them. :class:`CursorInvalid` if malformed."""
    before, after = args.get("before"), args.get("after")
    if before is not None and after is not None:
        raise CursorInvalid("both before and after")
    return (decode(before) if before is not None else None), (decode(after) if after is not None else None)


def page_url(base: str, *, before: tuple[float, int] | None = None, after: tuple[float, int] | None = None,
             query: str = "") -> str:
    """The URL of a neighbouring page (the search, if any, goes along)."""
    params = {}
    if before is not None:
        params["before"] = encode(before)
    if after is not None:
        params["after"] = encode(after)
    if query:
        params["q"] = query
    return f"{base}?{urlencode(params, safe='~')}" if params else base
