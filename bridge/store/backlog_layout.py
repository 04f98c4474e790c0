"""Where a conversation sits in the /pending indexes: its score, its sets, and the score ranges a
filter reads (no Redis access here; :mod:`bridge.store.backlog` explains the layout).

Every member's score is the same in every set::

    score = rank(mark) * 1e11 + (waiting_since                       if somebody is waiting
                                 5e10 + (last_message_at or created_at) otherwise)

so every mark occupies its own score band ``[rank * 1e11, (rank + 1) * 1e11)``.
"""
from __future__ import annotations

import math
from typing import Any

from bridge.keys import Keys
from bridge.triage.marks import MarkSet

#: Width of one mark's score band.
RANK_STRIDE = 1e11
#: Open-but-not-waiting conversations sort after the waiting ones of their mark.
NOT_WAITING_OFFSET = 5e10
#: Assignee token of conversations nobody has claimed.
UNASSIGNED = "-"

#: Conversation hash fields a placement is computed from, in the order :meth:`BacklogLayout.place_row` reads them.
PLACEMENT_FIELDS = ("mark", "assignee", "waiting_since", "last_message_at", "created_at", "account")

Segment = tuple[str, str, str]   # (sorted set key, min score, max score)


def as_float(raw: Any) -> float:
    """A stored number (0.0 when missing, malformed or not finite)."""
    try:
        value = float(raw or 0)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def as_int(raw: Any) -> int:
    try:
        return int(float(raw or 0))
    except (TypeError, ValueError):
        return 0


class BacklogLayout:
    """The key names, scores and score ranges of one namespace's indexes for one :class:`MarkSet`."""

    def __init__(self, keys: Keys, marks: MarkSet):
        self.keys = keys
        self.marks = marks
        self.conv_prefix = keys.conv(conv_id="")
        self.where = keys.backlog_where()

    def mark_prefix(self, account: str) -> str:
        return self.keys.backlog_mark(account=account, mark="")

    def assignee_prefix(self, account: str) -> str:
        return self.keys.backlog_assignee(account=account, assignee="")

    # -- scores -------------------------------------------------------------------------
    def score(self, mark_key: str, waiting_since: float, fallback: float = 0.0) -> float:
        """Sort score: ``rank(mark) * 1e11`` plus ``waiting_since``, or ``5e10 + fallback`` when nobody waits.

        ``fallback`` is the conversation's last message (or creation) time. Times are
        clamped into the band, so a bad value can never leak into another mark's band.
        """
        base = self.marks.rank(mark_key) * RANK_STRIDE
        if waiting_since and waiting_since > 0:
            return base + min(float(waiting_since), NOT_WAITING_OFFSET - 1)
        return base + NOT_WAITING_OFFSET + min(max(float(fallback or 0), 0.0), NOT_WAITING_OFFSET - 1)

    def placement(self, mark: str, assignee: str, waiting_since: float, last: float, created: float
                  ) -> tuple[str, float, str, str]:
        """(state "open"/"waiting"/"", score, effective mark key, assignee token)."""
        effective = self.marks.effective(mark)
        state = effective.state if effective.state in ("open", "waiting") else ""
        return state, self.score(effective.key, waiting_since, last or created), effective.key, assignee or UNASSIGNED

    def place_row(self, row: list[Any]) -> tuple[str, float, str, str]:
        """:meth:`placement` of a conversation read as ``HMGET PLACEMENT_FIELDS``."""
        return self.placement(row[0], row[1] or "", as_float(row[2]), as_float(row[3]), as_float(row[4]))

    # -- ranges ---------------------------------------------------------------------------
    @staticmethod
    def band(rank: int) -> tuple[str, str]:
        return str(int(rank * RANK_STRIDE)), "(" + str(int((rank + 1) * RANK_STRIDE))

    @staticmethod
    def assignee_token(assignee: str | None, unassigned: bool) -> str | None:
        if unassigned and assignee:
            raise ValueError("assignee and unassigned are mutually exclusive")
        return UNASSIGNED if unassigned else (assignee or None)

    def segments(self, account: str, assignee_token: str | None, marks: list[str] | None) -> list[Segment]:
        """Disjoint (key, min, max) ranges of one account, in ascending score order, whose union is the result."""
        if marks:
            chosen = sorted({self.marks.rank(m.key) for k in marks
                             if (m := self.marks.get(k)) is not None and m.state in ("open", "waiting")})
            if assignee_token is None:
                ordered = self.marks.ordered()
                return [(self.mark_prefix(account) + ordered[rank].key, "-inf", "+inf") for rank in chosen]
            ranks = chosen
        else:
            if assignee_token is None:
                return [(self.keys.backlog_all(account=account), "-inf", "+inf")]
            ranks = [self.marks.rank(m.key) for m in self.marks.open_marks()]
        segments: list[Segment] = []
        key = self.assignee_prefix(account) + assignee_token
        start = prev = None
        for rank in sorted(ranks) + [None]:  # merge adjacent bands
            if rank is not None and prev is not None and rank == prev + 1:
                prev = rank
                continue
            if start is not None and prev is not None:
                lo, _ = self.band(start)
                _, hi = self.band(prev)
                segments.append((key, lo, hi))
            start = prev = rank
        return segments

    def count_segments(self, account: str, token: str | None) -> list[tuple[str, Segment]]:
        """Per backlog mark (most urgent first): the range holding its conversations of ``account``."""
        out: list[tuple[str, Segment]] = []
        for m in self.marks.backlog_marks():
            if token is None:
                out.append((m.key, (self.mark_prefix(account) + m.key, "-inf", "+inf")))
            else:
                out.append((m.key, (self.assignee_prefix(account) + token, *self.band(self.marks.rank(m.key)))))
        return out
