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

import math
import re
from typing import Any

MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


# What in a JSON text can decode to something clean() changes: a surrogate escape (\\uD800-\\uDFFF; a valid
# pair too, conservatively), a UTF-8-encoded surrogate (json.loads decodes bytes with surrogatepass), NaN or
# Infinity, and a number that may overflow to inf (an exponent of three digits, 300 digits in a row).
_MAY_NEED_CLEANING = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|NaN|Infinity|[0-9]{300}"
                                rb"|[:,\[]\s*-?[0-9][0-9.]*[eE][+-]?[0-9]{3}")


class Clean(dict):
    """A decoded JSON object known to need no cleaning: :func:`clean` returns it as it is."""


def needs_no_cleaning(text: bytes) -> bool:
    """Would :func:`clean` leave everything decoded from the JSON ``text`` unchanged? Checked on the raw
    bytes, a few microseconds (clean() walks every value): no lone surrogate, no non-finite number, and
    fewer opening brackets in all than ``MAX_DEPTH``, so nothing is nested that deep. False when unsure."""
    return text.count(b"{") + text.count(b"[") < MAX_DEPTH and _MAY_NEED_CLEANING.search(text) is None


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
