"""Worst-case markup conversion: the slowest pathological 40,000-character text, both directions.

Slack accepts 40,000 characters per message and LINE 5,000; every conversion run on staff or
friend text must stay linear, or one crafted message holds its conversation's stream (and the
stream lock) for seconds. Each pattern below is repeated to 40,000 characters and converted
once by ``slack_to_line`` (staff → friend) and ``line_to_slack`` (friend → staff); the slowest
is reported. Before the scanners of :mod:`bridge.text.scan`, "(*x" took ~7-13 s (quadratic).

    .venv/bin/python bench/conversion_bench.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.text import slack_to_line  # noqa: E402
from bridge.text.mrkdwn import escape as line_to_slack  # noqa: E402

SIZE = 40_000
PATTERNS = ("(*x", " *x", "(_x", " _x", "(~x", " ~x", "*x", "<", "<a", "`x", "```x", "&amp;", "&gt;", ":", ":a",
            "!a", "{a", "@here ", "*_~`")


def worst_case(size: int = SIZE) -> list[tuple[float, str, str]]:
    """(seconds, function, pattern) for every pattern and direction, slowest first."""
    out = []
    for pattern in PATTERNS:
        text = (pattern * (size // len(pattern) + 1))[:size]
        for name, convert in (("slack_to_line", lambda s: slack_to_line(s)),
                              ("line_to_slack", line_to_slack)):
            started = time.perf_counter()
            convert(text)
            out.append((time.perf_counter() - started, name, pattern))
    return sorted(out, reverse=True)


def summary_line(size: int = SIZE) -> str:
    results = worst_case(size)
    seconds, name, pattern = results[0]
    return (f"worst-case conversion: {seconds * 1000:.1f} ms ({name}, {size:,} chars of {pattern!r}; "
            f"slowest of {len(results)} pathological inputs)")


if __name__ == "__main__":
    for seconds, name, pattern in worst_case()[:8]:
        print(f"{seconds * 1000:9.1f} ms  {name:14} {pattern!r}")
    print(summary_line())
