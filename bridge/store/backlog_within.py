"""/pending restricted to 友だち情報 filters (a tag's or a field value's set of conversations).

Each backlog range is read from a temporary ZINTERSTORE of its sorted set with the filter's set
(weight 0: the backlog score is kept), which expires after 30 s.
"""
from __future__ import annotations

import uuid

import redis

from bridge.store.backlog_layout import BacklogLayout, Segment

TEMP_TTL = 30   # seconds a temporary intersection lives


class WithinReader:
    """Reads backlog ranges intersected with a restricting set of conversation ids."""

    def __init__(self, r: redis.Redis, layout: BacklogLayout):
        self.r = r
        self.layout = layout

    def intersected(self, segments: list[Segment], restrict: str) -> list[Segment]:
        """The same ranges, read from temporary intersections of each set with ``restrict``."""
        temp: dict[str, str] = {}
        pipe = self.r.pipeline(transaction=False)
        for key, _, _ in segments:
            if key not in temp:
                temp[key] = self.layout.keys.friend_tmp(token=uuid.uuid4().hex)
                pipe.zinterstore(temp[key], {key: 1, restrict: 0})
                pipe.expire(temp[key], TEMP_TTL)
        pipe.execute()
        return [(temp[key], lo, hi) for key, lo, hi in segments]

    def counts(self, token: str | None, accounts: list[str], within: dict[str, str]) -> dict[str, int]:
        """Conversations per backlog mark key, for the conversations in the ``within`` sets only."""
        out = {m.key: 0 for m in self.layout.marks.backlog_marks()}
        for account in accounts:
            ranges = self.layout.count_segments(account, token)
            pipe = self.r.pipeline(transaction=False)
            for key, lo, hi in self.intersected([seg for _, seg in ranges], within[account]):
                pipe.zcount(key, lo, hi)
            for (mark, _), n in zip(ranges, pipe.execute()):
                out[mark] += int(n)
        return out
