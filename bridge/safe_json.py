"""Untrusted JSON made safe to store and process.

A correctly signed webhook may still carry anything JSON can express: lone UTF-16
surrogates (``"\\ud800"``, valid JSON but not encodable as UTF-8, so Redis refuses the
string), structures nested hundreds of levels deep (``json.dumps`` and ``json.loads``
then hit Python's recursion limit later, in a worker), or wrong types everywhere.
:func:`clean` returns a copy that can always be JSON-encoded as UTF-8 and decoded again:
lone surrogates become U+FFFD (the replacement character) and containers deeper than
``max_depth`` become ``None`` (LINE and Slack payloads are less than 10 levels deep, so
nothing the bridge reads is lost). Wrong *types* are left alone: readers must check.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # \\uD800-\\uDFFF (a valid pair too, conservatively)
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")      # UTF-8-encoded surrogates (json.loads decodes surrogatepass)


class Clean(dict):
    """A decoded JSON object known to need no cleaning: :func:`clean` returns it as it is."""


class _NotFinite(Exception):
    pass


def _refuse_constant(name: str) -> float:
    raise _NotFinite(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999
        raise _NotFinite(literal)
    return value


# The C scanner calls these hooks only for NaN / Infinity and for numbers with a fraction or exponent.
_CHECKING = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def loads_noting_cleanliness(text: bytes) -> tuple[Any, bool]:
    """``json.loads(text)`` and whether :func:`clean` would leave everything in it unchanged (no lone
    surrogate, no non-finite number, fewer opening brackets in all than ``MAX_DEPTH``); False when unsure.

    A microsecond or two on top of the parse (byte searches; non-finite numbers are seen by the parser's
    hooks), against a walk over every value for clean(). Raises as :func:`json.loads` does."""
    try:
        value = _CHECKING.decode(text.decode(json.detect_encoding(text), "surrogatepass"))
    except _NotFinite:
        return json.loads(text), False
    ok = (text.count(b"{") + text.count(b"[") < MAX_DEPTH
          and (b"\\u" not in text or _SURROGATE_ESCAPE.search(text) is None)
          and (b"\xed" not in text or _RAW_SURROGATE.search(text) is None))
    return value, ok


def scrub(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a no-op for valid text)."""
    return _SURROGATE.sub("\ufffd", text)


def clean(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of decoded JSON that is safe to re-encode (see the module docstring)."""
    if type(value) is Clean:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        if max_depth <= 0:
            return None
        return {scrub(str(k)): clean(v, max_depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        if max_depth <= 0:
            return None
        return [clean(v, max_depth - 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):  # NaN/Infinity are not JSON; json.loads accepts them
        return None
    return value
