"""/pending restricted to 友だち情報 filters (a tag's or a field value's set of conversations).

Each backlog range is read from a temporary ZINTERSTORE of its sorted set with the filter's set
(weight 0: the backlog score is kept), which expires after 30 s.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.store.backlog import Backlog


def intersected(self: "Backlog", segments: list[tuple[str, str, str]], restrict: str) -> list[tuple[str, str, str]]:
    """The same ranges, read from temporary intersections of each set with ``restrict``."""
    temp: dict[str, str] = {}
    pipe = self.r.pipeline(transaction=False)
    for key, _, _ in segments:
        if key not in temp:
            temp[key] = self.keys.friend_tmp(token=uuid.uuid4().hex)
            pipe.zinterstore(temp[key], {key: 1, restrict: 0})
            pipe.expire(temp[key], 30)
    pipe.execute()
    return [(temp[key], lo, hi) for key, lo, hi in segments]


def within_counts(self: "Backlog", token: str | None, accounts: list[str], within: dict[str, str]) -> dict[str, int]:
    """Like :meth:`counts`, for the conversations in the ``within`` sets only."""
    out = {m.key: 0 for m in self.marks.backlog_marks()}
    for account in accounts:
        keys = list(out)
        if token is None:
            segments = [(self._mark_prefix(account) + k, "-inf", "+inf") for k in keys]
        else:
            segments = [(self._assignee_prefix(account) + token, *self._band(self.marks.rank(k))) for k in keys]
        pipe = self.r.pipeline(transaction=False)
        for key, lo, hi in self._intersected(segments, within[account]):
            pipe.zcount(key, lo, hi)
        for k, n in zip(keys, pipe.execute()):
            out[k] += int(n)
    return out
