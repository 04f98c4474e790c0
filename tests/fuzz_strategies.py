"""Hypothesis strategies for hostile (but correctly signed) webhook content."""
from __future__ import annotations

from hypothesis import strategies as st

ODD_STRINGS = st.sampled_from([
    "", " ", "\x00", "\ud800", "a\udfffb", "\ufeff", "🙂" * 50, "x" * 100_000, "<!channel> <@U123> *b* _i_",
    "&lt;&gt;&amp;", "\u202e\u0644\u0627", "${jndi:ldap://x}", "'; DROP TABLE x; --", "\n" * 500, "U" + "1" * 32,
    "line-default-U" + "1" * 32, "../../etc/passwd", "%s%n%x", "1e400", "NaN",
])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.floats(allow_nan=False),
    st.text(max_size=30), ODD_STRINGS,
)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)


def nested(depth: int):
    """A list nested ``depth`` levels deep."""
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.one_of(JSON, ODD_STRINGS, st.sampled_from([nested(200), nested(900), {"a": nested(500)}]))


@st.composite
def mutated(draw, base: dict, paths: list[tuple[str, ...]]):
    """``base`` (a dict) with 1-3 of ``paths`` set to a hostile value (or removed)."""
    import copy

    event = copy.deepcopy(base)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)):
        holder = event
        for key in path[:-1]:
            if not isinstance(holder.get(key), dict):
                holder[key] = {}
            holder = holder[key]
        if draw(st.booleans()) and draw(st.booleans()):
            holder.pop(path[-1], None)
        else:
            holder[path[-1]] = draw(HOSTILE)
    return event


# Slack markup a LINE friend might type to ping or trick the staff: each must reach Slack escaped
# (``&lt;…&gt;``, ``&amp;``) or defused (``@``, zero-width space, ``here``), never raw.
FRIEND_MARKUP = ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S123>", "<@U123>", "<#C123>",
                 "<https://evil.example|bank>", "R&D", "@here", "@channel")
_FRIEND_WORDS = ("山田", "hello", " ", "\n", "*太字*", "_it_", "~s~", "`c`", "> q", ":smile:", "🙂", "a|b")


def friend_strings(max_parts: int = 6):
    """Text a friend controls: at least one Slack control sequence, mixed with ordinary text."""
    parts = st.lists(st.sampled_from(FRIEND_MARKUP + _FRIEND_WORDS), min_size=0, max_size=max_parts)
    return st.tuples(st.sampled_from(FRIEND_MARKUP), parts, st.integers(0, max_parts)).map(
        lambda t: "".join(t[1][:t[2]] + [t[0]] + t[1][t[2]:]))
