"""The backlog indexes behind ``/pending``: Redis sorted sets kept next to the conversation hashes.

Sets (keys from :mod:`bridge.keys`)::

    backlog_all(account)                 open conversations (state "open" only)
    backlog_mark(account, mark=K)        conversations whose effective mark is K (state "open" or "waiting")
    backlog_assignee(account, assignee=A) conversations assigned to A ("-" = nobody), open or waiting

Each LINE account has its own sets; a query over several accounts (a triage channel
shared by two accounts, or /pending outside any triage channel) merges the accounts'
pages by score, which costs one extra page read per account.
    backlog_meta                hash: fingerprint of the mark order the scores were built with
    backlog_where hash: conv_id -> "<mark>\\t<assignee>" where it is indexed now

Every member's score is the same in every set::

    score = rank(mark) * 1e11 + (waiting_since                       if somebody is waiting
                                 5e10 + (last_message_at or created_at) otherwise)

so ascending order is "most urgent mark first, then longest waiting", conversations
that are open but not waiting come after the waiting ones of the same mark, and
every mark occupies its own score band ``[rank * 1e11, (rank + 1) * 1e11)``.

Because marks are score bands, *every* /pending filter is answered by ranges of a
single set, without ZINTERSTORE or temporary keys:

* no filter → ``backlog_all``;
* marks only → each mark's own set (which also holds 返信待ち when it is asked for);
* assignee (or unassigned), optionally with marks → the assignee's set restricted to
  the bands of the wanted marks (without marks: the bands of the "open" marks,
  adjacent bands merged).

A query costs one ZCOUNT per band (O(log N)) for the total, one
ZRANGE BYSCORE LIMIT per band touched by the page (O(log N + page)), and one
pipelined HMGET per row of the page: 2-3 round trips whatever the backlog size.

Unknown marks (removed from the configuration while conversations still carry them)
are indexed as ``default_open``. Changing the priority order, the states or
``default_open`` changes :meth:`MarkSet.fingerprint`; :meth:`Backlog.rebuild_if_needed`
then rebuilds every index from the conversation hashes.

The index update runs as one Lua script (atomic; it reads where the conversation was
indexed before from the "where" hash). It builds the old sets' names from prefixes, so
it needs a standalone Redis (or a Cluster hash tag around the namespace).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis

from bridge.keys import Keys
from bridge.model import Conversation
from bridge.store.backlog_layout import (
    NOT_WAITING_OFFSET, PLACEMENT_FIELDS, RANK_STRIDE, UNASSIGNED, BacklogLayout, Segment, as_float, as_int,
)
from bridge.store.backlog_rebuild import BacklogRebuild
from bridge.store.backlog_within import WithinReader
from bridge.triage.marks import MarkSet

__all__ = ["RANK_STRIDE", "NOT_WAITING_OFFSET", "UNASSIGNED", "Backlog", "BacklogRow", "BacklogPage"]

_ROW_FIELDS = ("number", "name", "mark", "assignee", "waiting_since", "last_message_at",
               "last_message_preview", "thread_ts", "channel", "account")

# KEYS[1] where-hash, KEYS[2] backlog_all
# ARGV[1] conv_id, ARGV[2] mark-set key prefix, ARGV[3] assignee-set key prefix,
# ARGV[4] "open" | "waiting" | "" (not in the backlog), ARGV[5] score,
# ARGV[6] effective mark key, ARGV[7] assignee token
_REINDEX = """
local id = ARGV[1]
local old = redis.call('HGET', KEYS[1], id)
if old then
  local sep = string.find(old, '\\t', 1, true)
  if sep then
    redis.call('ZREM', ARGV[2] .. string.sub(old, 1, sep - 1), id)
    redis.call('ZREM', ARGV[3] .. string.sub(old, sep + 1), id)
  end
end
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[1], id)
  return 0
end
redis.call('ZADD', ARGV[2] .. ARGV[6], ARGV[5], id)
redis.call('ZADD', ARGV[3] .. ARGV[7], ARGV[5], id)
if ARGV[4] == 'open' then
  redis.call('ZADD', KEYS[2], ARGV[5], id)
else
  redis.call('ZREM', KEYS[2], id)
end
redis.call('HSET', KEYS[1], id, ARGV[6] .. '\\t' .. ARGV[7])
return 1
"""


@dataclass
class BacklogRow:
    """What ``/pending`` shows about one conversation (read from its hash)."""

    conv_id: str
    number: int
    name: str
    mark: str
    assignee: str
    waiting_since: float
    last_message_at: float
    last_message_preview: str
    thread_ts: str
    channel: str
    account: str = ""


@dataclass
class BacklogPage:
    """One page of the backlog. ``counts`` is per mark key for the same assignee filter (mark filter ignored)."""

    rows: list[BacklogRow]
    total: int
    offset: int
    limit: int
    counts: dict[str, int] = field(default_factory=dict)
    now: float = 0.0   # the clock the page was read at (for "waiting 2 h" in the view)

    @property
    def has_more(self) -> bool:
        return self.offset + self.limit < self.total


class Backlog:
    """Maintains and queries the backlog indexes of one namespace for one :class:`MarkSet`."""

    def __init__(self, r: redis.Redis, keys: Keys, marks: MarkSet, accounts: list[str] | None = None):
        self.r = r
        self.keys = keys
        self.marks = marks
        self.accounts = list(accounts or ["default"])
        self.layout = BacklogLayout(keys, marks)
        self._reindex = r.register_script(_REINDEX)
        self._within = WithinReader(r, self.layout)

    def score(self, mark_key: str, waiting_since: float, fallback: float = 0.0) -> float:
        """The conversation's score in every set (see :meth:`BacklogLayout.score`)."""
        return self.layout.score(mark_key, waiting_since, fallback)

    # -- maintenance --------------------------------------------------------------------
    def index(self, conv: Conversation, pipe: redis.client.Pipeline | None = None) -> None:
        """(Re)place ``conv`` in the indexes for its current mark, assignee and waiting_since.

        Atomic; removes it from the sets it was in before (remembered in the "where"
        hash, so no ``previous`` is needed) and from everything when its mark is closed.
        Call it after every change of mark, assignee, waiting_since or last_message_at,
        in the same pipeline/transaction as the hash update when there is one.
        """
        state, score, mark, assignee = self.layout.placement(conv.mark, conv.assignee, conv.waiting_since,
                                                             conv.last_message_at, conv.created_at)
        self._run(conv.account, conv.conv_id, state, score, mark, assignee, pipe)

    def reindex(self, conv_id: str) -> bool:
        """Index the conversation as stored in Redis now (removed when its hash is gone). Returns whether it is in the backlog."""
        row = self.r.hmget(self.layout.conv_prefix + conv_id, *PLACEMENT_FIELDS)
        if row[0] is None:
            self.remove(conv_id)
            return False
        account = row[5] or conv_id.partition("-")[0]
        state, score, mark, assignee = self.layout.place_row(row)
        self._run(account, conv_id, state, score, mark, assignee, None)
        return bool(state)

    def remove(self, conv_id: str, pipe: redis.client.Pipeline | None = None) -> None:
        """Take the conversation out of every backlog set (of its account; of all when its hash is gone)."""
        account = self.r.hget(self.layout.conv_prefix + conv_id, "account")
        for key in [account] if account else self.accounts:
            self._run(key, conv_id, "", 0.0, "", "", pipe)

    def _run(self, account: str, conv_id: str, state: str, score: float, mark: str, assignee: str,
             pipe: redis.client.Pipeline | None) -> None:
        self._reindex(
            keys=[self.layout.where, self.keys.backlog_all(account=account)],
            args=[conv_id, self.layout.mark_prefix(account), self.layout.assignee_prefix(account), state, repr(score),
                  mark, assignee],
            client=pipe if pipe is not None else self.r,
        )

    def rebuild_if_needed(self) -> bool:
        """Rebuild every index when they were built for another mark order (or never). Returns whether it rebuilt."""
        if self.r.hget(self.keys.backlog_meta(), "fingerprint") == self.marks.fingerprint():
            return False
        self.rebuild()
        return True

    def rebuild(self, scan_count: int = 2000) -> int:
        """Rebuild every index from the conversation hashes; returns the backlog size (see :mod:`.backlog_rebuild`)."""
        return BacklogRebuild(self.r, self.layout).run(scan_count)

    # -- queries ----------------------------------------------------------------------------
    def counts(self, assignee: str | None = None, unassigned: bool = False,
               accounts: list[str] | None = None) -> dict[str, int]:
        """Conversations per mark key (open and waiting marks, most urgent first), optionally for one assignee."""
        token = self.layout.assignee_token(assignee, unassigned)
        pipe = self.r.pipeline(transaction=False)
        chosen = accounts if accounts is not None else self.accounts
        marks: list[str] = []
        for account in chosen:
            for mark, (key, lo, hi) in self.layout.count_segments(account, token):
                marks.append(mark)
                pipe.zcount(key, lo, hi)
        out = {m.key: 0 for m in self.marks.backlog_marks()}
        for mark, n in zip(marks, pipe.execute()):
            out[mark] += int(n)
        return out

    def query(self, *, assignee: str | None = None, unassigned: bool = False, marks: list[str] | None = None,
              offset: int = 0, limit: int = 20, now: float | None = None,
              accounts: list[str] | None = None, within: dict[str, str] | None = None) -> BacklogPage:
        """One page of the backlog, most urgent first.

        Filters combine: ``accounts`` (default: every account), ``assignee`` (a Slack user
        id) or ``unassigned``, AND any of ``marks`` (keys). Without ``marks`` only "open"
        marks are listed; marks in state "waiting" (返信待ち) are listed when named in
        ``marks``; "closed" or unknown keys in ``marks`` match nothing. Rows whose hash
        disappeared are skipped. Cost per account: O(B log N + offset + limit) for B bands,
        2-3 round trips.

        ``within`` (account -> key of a set of conversation ids, e.g. a tag's set) restricts
        the result to those conversations: each set read is first intersected with it into
        a short-lived sorted set (ZINTERSTORE, cost O(smaller set)), scores kept.
        """
        offset = max(0, int(offset))
        limit = max(1, int(limit))
        token = self.layout.assignee_token(assignee, unassigned)
        chosen = list(accounts if accounts is not None else self.accounts)
        if within is not None:   # 友だち情報 filters: only accounts with a restricting set
            chosen = [a for a in chosen if within.get(a)]
        counts = self.counts(assignee, unassigned, chosen) if within is None else \
            self._within.counts(token, chosen, within)
        scored: list[tuple[float, str]] = []
        total = 0
        for account in chosen:
            segments: list[Segment] = self.layout.segments(account, token, marks)
            if within is not None:
                segments = self._within.intersected(segments, within[account])
            if not segments:
                continue
            # One account: read just the page. Several: each account's first offset+limit, merged by score.
            skip, want = (offset, limit) if len(chosen) == 1 else (0, offset + limit)
            pipe = self.r.pipeline(transaction=False)
            for key, lo, hi in segments:
                pipe.zcount(key, lo, hi)
            sizes = [int(n) for n in pipe.execute()]
            total += sum(sizes)
            pipe = self.r.pipeline(transaction=False)
            for (key, lo, hi), size in zip(segments, sizes):
                if want <= 0:
                    break
                if skip >= size:
                    skip -= size
                    continue
                take = min(want, size - skip)
                pipe.zrange(key, lo, hi, byscore=True, offset=skip, num=take, withscores=True)
                want -= take
                skip = 0
            for chunk in pipe.execute():
                scored.extend((score, conv_id) for conv_id, score in chunk)
        if len(chosen) > 1:
            scored.sort()
            scored = scored[offset:offset + limit]
        rows = self.rows([conv_id for _, conv_id in scored])
        return BacklogPage(rows=rows, total=total, offset=offset, limit=limit, counts=counts, now=now or time.time())

    def rows(self, ids: list[str]) -> list[BacklogRow]:
        """What /pending shows of these conversations, in this order (one pipelined HMGET each; gone ones skipped)."""
        if not ids:
            return []
        pipe = self.r.pipeline(transaction=False)
        for conv_id in ids:
            pipe.hmget(self.layout.conv_prefix + conv_id, *_ROW_FIELDS)
        rows: list[BacklogRow] = []
        for conv_id, data in zip(ids, pipe.execute()):
            if data[2] is None and data[0] is None:
                continue  # the conversation hash is gone
            rows.append(BacklogRow(
                conv_id=conv_id, number=as_int(data[0]), name=data[1] or "", mark=data[2] or self.marks.default_open,
                assignee=data[3] or "", waiting_since=as_float(data[4]), last_message_at=as_float(data[5]),
                last_message_preview=data[6] or "", thread_ts=data[7] or "", channel=data[8] or "",
                account=data[9] or conv_id.partition("-")[0],
            ))
        return rows
