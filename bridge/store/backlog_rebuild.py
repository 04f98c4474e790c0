"""Rebuilding the /pending indexes from the conversation hashes (at start-up, when the mark order changed)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import redis

from bridge.store.backlog import _INDEX_FIELDS, _float

if TYPE_CHECKING:
    from bridge.store.backlog import Backlog


def _zadd_chunked(pipe: redis.client.Pipeline, key: str, members: dict[str, float], chunk: int = 5000) -> None:
    items = list(members.items())
    for i in range(0, len(items), chunk):
        pipe.zadd(key, dict(items[i:i + chunk]))



def rebuild(self: "Backlog", scan_count: int = 2000) -> int:
    """Rebuild every index from the conversation hashes (SCAN + pipelined HMGET). Returns the backlog size.

    The new sets replace the old ones in one MULTI/EXEC, so readers never see a
    half-built backlog. An :meth:`index` call that lands between the scan and the
    swap is lost until that conversation changes again; rebuilds only happen when
    the mark configuration changes (at deploy), so run it before serving traffic.
    """
    all_set: dict[str, dict[str, float]] = {}
    by_mark: dict[str, dict[str, float]] = {}
    by_assignee: dict[str, dict[str, float]] = {}
    where: dict[str, str] = {}

    # Phase 1 reads only each hash's mark (most friends are closed); phase 2 reads the
    # fields the score needs for the backlog members only.
    in_backlog = {m.key for m in self.marks.backlog_marks()}
    unknown_in_backlog = self.marks.effective("").key in in_backlog   # unknown keys act as default_open
    candidates: list[str] = []

    def keep(ids: list[str], found: list[Any]) -> None:
        for conv_id, mark in zip(ids, found):
            if mark is None:
                continue                # no mark field: not a conversation hash
            if mark in in_backlog or (unknown_in_backlog and self.marks.get(mark) is None):
                candidates.append(conv_id)

    ids: list[str] = []
    pipe = self.r.pipeline(transaction=False)
    for key in self.r.scan_iter(match=self._conv_prefix + "*", count=scan_count):
        ids.append(key[len(self._conv_prefix):])
        pipe.hget(key, "mark")
        if len(ids) >= scan_count:
            keep(ids, pipe.execute())
            ids = []
    if ids:
        keep(ids, pipe.execute())

    for i in range(0, len(candidates), scan_count):
        chunk = candidates[i:i + scan_count]
        pipe = self.r.pipeline(transaction=False)
        for conv_id in chunk:
            pipe.hmget(self._conv_prefix + conv_id, *_INDEX_FIELDS)
        for conv_id, row in zip(chunk, pipe.execute()):
            if row[1] is None:          # deleted meanwhile
                continue
            state, score, mark, assignee = self._placement(row[1], row[2] or "", _float(row[3]),
                                                          _float(row[4]), _float(row[5]))
            if not state:
                continue
            account = row[6] or conv_id.partition("-")[0]
            if state == "open":
                all_set.setdefault(self.keys.backlog_all(account=account), {})[conv_id] = score
            by_mark.setdefault(self._mark_prefix(account) + mark, {})[conv_id] = score
            by_assignee.setdefault(self._assignee_prefix(account) + assignee, {})[conv_id] = score
            where[conv_id] = f"{mark}\t{assignee}"

    old = set(self.r.scan_iter(match=self.keys.backlog_all(account="*"), count=1000))
    old |= set(self.r.scan_iter(match=self.keys.backlog_mark(account="*", mark="*"), count=1000))
    old |= set(self.r.scan_iter(match=self.keys.backlog_assignee(account="*", assignee="*"), count=1000))
    old.add(self._where)

    tx = self.r.pipeline(transaction=True)
    tx.delete(*old)
    for sets in (all_set, by_mark, by_assignee):
        for key, members in sets.items():
            _zadd_chunked(tx, key, members)
    items = list(where.items())
    for i in range(0, len(items), 5000):
        tx.hset(self._where, mapping=dict(items[i:i + 5000]))
    tx.hset(self.keys.backlog_meta(), mapping={"fingerprint": self.marks.fingerprint(),
                                                "rebuilt_at": repr(time.time()), "size": str(len(where))})
    tx.execute()
    return len(where)

