"""Markup conversion takes time proportional to the text, whatever the text.

Slack accepts 40,000 characters per message; a conversion that is quadratic on some input
("(*x" repeated) held a conversation's stream for 13 s, long enough for its lock to expire.
Timing lives in ``bench/core_bench.py`` ("worst-case conversion"); here:

* behaviour on the pathological inputs at full size (what the friend reads is unchanged),
* a structural check of every regex run on staff or friend text: no unbounded repeat may
  compete with what follows it, nor contain another unbounded repeat (the backtracking
  shapes behind super-linear matching),
* the linear scanners agree with the regex rules they replace on many small inputs.
"""
from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.friends import canned
from bridge.text import limits, markup, scan, slack_to_line
from bridge.text.mrkdwn import escape as line_to_slack  # the one LINE → Slack escaper

N = 40_000


def _times(pattern: str) -> str:
    return (pattern * (N // len(pattern) + 1))[:N]


def _convert(text: str) -> str:
    return slack_to_line(text)


@pytest.mark.parametrize("pattern", ["(*x", " *x", "(_x", " _x", "(~x", " ~x", "*x", "_x", "~x"])
def test_unclosed_formatting_markers_reach_the_friend_as_typed(pattern):
    text = _times(pattern)
    assert _convert(text) == text


def test_a_bold_pair_around_a_long_run_of_unclosed_markers_loses_only_its_own_markers():
    inner = _times("(*x")
    assert _convert("*" + inner + "x*") == inner + "x"
    assert _convert("*" + inner + "x*\n*y*") == inner + "x\ny"


@pytest.mark.parametrize("pattern, expected", [
    ("<", "<" * N), ("<a", "<a" * (N // 2)), (":", ":" * N), ("!a", "!a" * (N // 2)),
    ("&amp;", "&" * (N // 5)), ("&gt;", "> " + ">" * (N // 4 - 3)),  # a blockquote of ">" for the rest
    ("`x", "x" * (N // 2)), ("x`", "x" * (N // 2)),
    (":a", "\U0001F170\ufe0f" + "a" + ":a" * (N // 2 - 2)),  # ":a:" is the emoji 🅰️, then unclosed ":a"s
])
def test_other_pathological_inputs_convert_as_they_always_did(pattern, expected):
    assert _convert(_times(pattern)) == expected


def test_unbalanced_code_fences():
    assert _convert("```" + "x" * N) == "```" + "x" * N
    assert _convert("```a```" + "```" + "b" * N) == "a" + "```" + "b" * N
    assert _convert("```" + _times("`x")) == "```" + "x" * (N // 2)  # inline-code pairs lose their backticks


@pytest.mark.parametrize("pattern", ["<", "&", "@here ", "(*x", "`"])
def test_line_to_slack_on_long_inputs_escapes_everything(pattern):
    out = line_to_slack(_times(pattern))
    assert "<" not in out and ">" not in out and "@here" not in out


# -- structure: no regex run on user text can backtrack super-linearly ---------------------------
_PROBES = [chr(i) for i in range(128)] + ["あ", "重", "\u3000", "é", "😀", "\u200b"]
_CATEGORY = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s",
             C.CATEGORY_NOT_SPACE: r"\S", C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W"}
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT)
_SKIP = (C.ASSERT, C.ASSERT_NOT, C.AT)


def _one(op, av, ch: str, dotall: bool) -> bool | None:
    """Whether a single-character item matches ``ch`` (None: not a single-character item)."""
    if op == C.LITERAL:
        return ord(ch) == av
    if op == C.NOT_LITERAL:
        return ord(ch) != av
    if op == C.ANY:
        return dotall or ch != "\n"
    if op == C.IN:
        negate, hit = False, False
        for o, a in av:
            if o == C.NEGATE:
                negate = True
            elif o == C.LITERAL:
                hit |= ord(ch) == a
            elif o == C.RANGE:
                hit |= a[0] <= ord(ch) <= a[1]
            elif o == C.CATEGORY:
                hit |= re.fullmatch(_CATEGORY[a], ch) is not None
        return hit != negate
    return None


def _chars(items, dotall: bool) -> set[str]:
    """Every probe character any part of ``items`` can consume."""
    out: set[str] = set()
    for op, av in items:
        if op in _SKIP:
            continue
        if op == C.SUBPATTERN:
            out |= _chars(av[3], dotall)
        elif op == C.BRANCH:
            for branch in av[1]:
                out |= _chars(branch, dotall)
        elif op in _REPEATS or op == C.POSSESSIVE_REPEAT:
            out |= _chars(av[2], dotall)
        else:
            out |= {ch for ch in _PROBES if _one(op, av, ch, dotall)}
    return out


def _first(items, dotall: bool) -> set[str]:
    """The probe characters the sequence ``items`` can start with (through optional parts)."""
    out: set[str] = set()
    for op, av in items:
        if op in _SKIP:
            continue
        if op == C.SUBPATTERN:
            out |= _first(list(av[3]), dotall)
            return out  # groups here always consume (approximation on the safe side of our patterns)
        if op == C.BRANCH:
            for branch in av[1]:
                out |= _first(list(branch), dotall)
            return out
        if op in _REPEATS or op == C.POSSESSIVE_REPEAT:
            out |= _first(list(av[2]), dotall)
            if av[0] > 0:
                return out
            continue
        return out | {ch for ch in _PROBES if _one(op, av, ch, dotall)}
    return out


def _unbounded(items) -> bool:
    for op, av in items:
        if op in _REPEATS and av[1] == C.MAXREPEAT:
            return True
        if op == C.SUBPATTERN and _unbounded(av[3]):
            return True
        if op == C.BRANCH and any(_unbounded(b) for b in av[1]):
            return True
    return False


def _problems(items, follow, dotall: bool) -> list[str]:
    items = list(items)
    found: list[str] = []
    for i, (op, av) in enumerate(items):
        rest = items[i + 1:] + follow
        if op == C.SUBPATTERN:
            found += _problems(av[3], rest, dotall)
        elif op == C.BRANCH:
            for branch in av[1]:
                found += _problems(branch, rest, dotall)
        elif op in _REPEATS:
            lo, hi, sub = av
            if hi == C.MAXREPEAT:
                if _unbounded(sub):
                    found.append("an unbounded repeat inside an unbounded repeat")
                shared = _chars(sub, dotall) & _first(rest, dotall)
                if shared:
                    found.append(f"an unbounded repeat competes with what follows it on {sorted(shared)[:5]}")
            found += _problems(sub, [], dotall)
    return found


def _patterns(module) -> list[re.Pattern]:
    out = []
    for value in vars(module).values():
        if isinstance(value, re.Pattern):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out += [v for v in value if isinstance(v, re.Pattern)]
    return out


@pytest.mark.parametrize("module", [markup, scan, limits, canned], ids=lambda m: m.__name__)
def test_no_regex_run_on_user_text_can_backtrack_super_linearly(module):
    problems = {}
    for pattern in _patterns(module):
        parsed = P.parse(pattern.pattern, pattern.flags)
        found = _problems(list(parsed), [], bool(pattern.flags & re.DOTALL))
        if found:
            problems[pattern.pattern] = found
    assert problems == {}


def test_the_structural_check_finds_the_shapes_it_is_meant_to_find():
    def check(source: str, flags: int = 0) -> list[str]:
        return _problems(list(P.parse(source, flags)), [], bool(flags & re.DOTALL))

    assert check(r"(?<![^\W_])\*(?![\s*])([^\n]+?)(?<![\s*])\*(?![^\W_])")  # the 13 s regex
    assert check(r"```(.+?)```", re.DOTALL)
    assert check(r"(a+)+b")
    assert not check(r"<([^<>\n]*)>")
    assert not check(r"`([^`\n]+)`")


# -- the scanners agree with the regex rules they replaced -------------------------------------
_WORD = r"[^\W_]"


def _reference_marker(marker: str) -> re.Pattern[str]:
    m = re.escape(marker)
    return re.compile(rf"(?<!{_WORD}){m}(?![\s{m}])([^\n]+?)(?<![\s{m}]){m}(?!{_WORD})")


_REFERENCE_FENCE = re.compile(r"```(.+?)```", re.DOTALL)
_ALPHABET = st.sampled_from(["*", "_", "~", "`", "```", "a", "あ", " ", "\n", "(", "1", "\t", "-", ":"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=16).map("".join), st.sampled_from(["*", "_", "~"]))
def test_strip_marker_matches_the_regex_rule(text, marker):
    assert scan.strip_marker(text, marker) == _reference_marker(marker).sub(r"\1", text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=16).map("".join))
def test_replace_fences_matches_the_regex_rule(text):
    def render(content: str, whole: str) -> str:
        return "[" + content + "]"

    assert scan.replace_fences(text, render) == _REFERENCE_FENCE.sub(lambda m: render(m.group(1), m.group(0)), text)
