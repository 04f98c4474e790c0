"""Redis state of 友だち情報: one hash per conversation plus the sets that make it searchable.

Keys (:mod:`bridge.keys`)::

    friend(conv_id)                      hash: f.<field> -> value, tags -> JSON list, note, updated_at, updated_by
    friend_tag(account, tag)             set of conv_ids (tag normalized: NFKC + casefold)
    friend_field(account, field, value)  set of conv_ids (value normalized)
    friend_names(account)                zset, all scores 0: "<normalized name>\\0<conv_id>" (prefix search by ZRANGEBYLEX)

A save rewrites the hash and moves the conversation between index sets in one
MULTI/EXEC guarded by WATCH, so the sets always match the hashes.
"""
from __future__ import annotations

import json
import secrets
import time
import unicodedata
from dataclasses import dataclass, field

import redis

from bridge.keys import Keys


def norm(text: str) -> str:
    """The form values are indexed and compared in: NFKC, trimmed, case-folded (ＶＩＰ = vip)."""
    return unicodedata.normalize("NFKC", text or "").strip().casefold()


@dataclass
class FriendData:
    """A conversation's 友だち情報: field values (by field key, canonical strings), free tags, a note."""

    fields: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    note: str = ""

    def is_empty(self) -> bool:
        return not self.fields and not self.tags and not self.note


TMP_TTL = 30   # seconds an intersection used by one query lives

# Filter a set of conversation ids server-side (one round trip instead of one HMGET per
# candidate): KEYS[1] the set; ARGV: conv key prefix, account, "m" when marks filter,
# "1" when unknown marks count as allowed (they act as default_open), #allowed, allowed…, known…
# Returns {blocked count, line ids…}.
_AUDIENCE = """
local n = tonumber(ARGV[5])
local allowed, known = {}, {}
for i = 6, 5 + n do allowed[ARGV[i]] = true end
for i = 6 + n, #ARGV do known[ARGV[i]] = true end
local out, blocked = {0}, 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', ARGV[1] .. id, 'source_type', 'blocked', 'mark', 'line_id', 'account')
  if v[1] == 'user' and v[4] and v[4] ~= '' and v[5] == ARGV[2] then
    local m = v[3] or ''
    if ARGV[3] ~= 'm' or allowed[m] or (ARGV[4] == '1' and not known[m]) then
      if v[2] == '1' then blocked = blocked + 1 else out[#out + 1] = v[4] end
    end
  end
end
out[1] = blocked
return out
"""


# The name index backfill's write: ARGV = (conv key, name, names zset, member)…; ZADD only where the
# conversation hash still carries that name. Returns how many were indexed.
_INDEX_IF_NAMED = """
local n = 0
for i = 1, #ARGV, 4 do
  if redis.call('HGET', ARGV[i], 'name') == ARGV[i + 1] then
    redis.call('ZADD', ARGV[i + 2], 0, ARGV[i + 3])
    n = n + 1
  end
end
return n
"""

NAMES_BACKFILL = "friend-names"   # the backfill's name (its "done" marker: migration:friend-names)


class FriendStore:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys
        self._audience = r.register_script(_AUDIENCE)
        self._index_if_named = r.register_script(_INDEX_IF_NAMED)

    # -- reading ------------------------------------------------------------------------
    def get(self, conv_id: str) -> FriendData:
        return self._decode(self.r.hgetall(self.keys.friend(conv_id=conv_id)))

    def get_many(self, conv_ids: list[str]) -> list[FriendData]:
        pipe = self.r.pipeline(transaction=False)
        for conv_id in conv_ids:
            pipe.hgetall(self.keys.friend(conv_id=conv_id))
        return [self._decode(raw) for raw in pipe.execute()]

    @staticmethod
    def _decode(raw: dict[str, str]) -> FriendData:
        fields = {k[2:]: v for k, v in raw.items() if k.startswith("f.") and v}
        return FriendData(fields=fields, tags=json.loads(raw.get("tags") or "[]"), note=raw.get("note", ""))

    # -- writing ------------------------------------------------------------------------
    def save(self, account: str, conv_id: str, new: FriendData, actor: str, now: float | None = None) -> dict:
        """Replace the conversation's 友だち情報 with ``new``; returns what changed (empty: nothing).

        ``{"fields": {key: [old, new]}, "tags_added": [...], "tags_removed": [...], "note": bool}``
        """
        key = self.keys.friend(conv_id=conv_id)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    old = self._decode(pipe.hgetall(key))
                    changes = diff(old, new)
                    if not changes:
                        pipe.unwatch()
                        return {}
                    pipe.multi()
                    self._write(pipe, account, conv_id, old, new, actor, now or time.time())
                    pipe.execute()
                    return changes
                except redis.WatchError:
                    continue

    def _write(self, pipe, account: str, conv_id: str, old: FriendData, new: FriendData, actor: str, now: float) -> None:
        key = self.keys.friend(conv_id=conv_id)
        pipe.delete(key)
        mapping = {f"f.{k}": v for k, v in new.fields.items() if v}
        mapping.update({"tags": json.dumps(new.tags, ensure_ascii=False), "note": new.note, "account": account,
                        "updated_at": repr(now), "updated_by": actor})
        pipe.hset(key, mapping=mapping)
        old_tags, new_tags = {norm(t) for t in old.tags}, {norm(t) for t in new.tags}
        for tag in old_tags - new_tags:
            pipe.srem(self.keys.friend_tag(account=account, tag=tag), conv_id)
        for tag in new_tags - old_tags:
            pipe.sadd(self.keys.friend_tag(account=account, tag=tag), conv_id)
        for fkey in set(old.fields) | set(new.fields):
            before, after = norm(old.fields.get(fkey, "")), norm(new.fields.get(fkey, ""))
            if before == after:
                continue
            if before:
                pipe.srem(self.keys.friend_field(account=account, field=fkey, value=before), conv_id)
            if after:
                pipe.sadd(self.keys.friend_field(account=account, field=fkey, value=after), conv_id)

    def index_name(self, account: str, conv_id: str, name: str, old_name: str = "") -> None:
        """Make the conversation findable by (the start of) its name."""
        zkey = self.keys.friend_names(account=account)
        pipe = self.r.pipeline(transaction=True)
        if old_name and norm(old_name) != norm(name):
            pipe.zrem(zkey, f"{norm(old_name)}\0{conv_id}")
        if name:
            pipe.zadd(zkey, {f"{norm(name)}\0{conv_id}": 0})
        pipe.execute()

    def backfill_names(self, wait: float = 300.0) -> int:
        """Index the names of conversations created before /friend existed, to the end, in this process
        (once per namespace; 0 when done before). The workers run the same backfill in the background
        (:mod:`bridge.store.backfill`, batches of :meth:`index_names`); this is for tests and operators."""
        from bridge.store.backfill import Backfill

        return Backfill(self.r, self.keys, NAMES_BACKFILL, self.index_names).run_all(wait)

    def index_names(self, conv_ids: list[str]) -> int:
        """One batch of the name index backfill: each conversation's current name, indexed only if the
        hash still has that name when written (one script: a rename or a forgotten friend in between
        is not undone). Returns how many names were indexed."""
        conv_prefix = self.keys.conv(conv_id="")
        read = self.r.pipeline(transaction=False)
        for conv_id in conv_ids:
            read.hmget(conv_prefix + conv_id, "name", "account")
        args: list[str] = []
        for conv_id, (name, account) in zip(conv_ids, read.execute()):
            if name:
                args += [conv_prefix + conv_id, name, self.keys.friend_names(account=account or conv_id.partition("-")[0]),
                         f"{norm(name)}\0{conv_id}"]
        return int(self._index_if_named(args=args)) if args else 0

    # -- searching -------------------------------------------------------------------------
    def by_name_prefix(self, account: str, prefix: str, limit: int = 50) -> list[str]:
        p = norm(prefix)
        if not p:
            return []
        found = self.r.zrangebylex(self.keys.friend_names(account=account), f"[{p}", f"[{p}\xff", start=0, num=limit)
        return [m.rpartition("\0")[2] for m in found]

    def term_key(self, account: str, term: tuple[str, str]) -> str:
        """The index set of one filter term: ("tag", "VIP") or (field key, value)."""
        kind, value = term
        if kind == "tag":
            return self.keys.friend_tag(account=account, tag=norm(value))
        return self.keys.friend_field(account=account, field=kind, value=norm(value))

    def members(self, account: str, terms: list[tuple[str, str]]) -> set[str]:
        """The conversations of ``account`` matching every term (SINTER of the index sets)."""
        if not terms:
            return set()
        return set(self.r.sinter([self.term_key(account, t) for t in terms]))

    def sample(self, set_key: str, n: int) -> list[str]:
        """Up to ``n`` members of a set (an index set or a :meth:`restriction`) without reading all of it."""
        out: list[str] = []
        for member in self.r.sscan_iter(set_key, count=max(n, 100)):
            out.append(member)
            if len(out) >= n:
                break
        return out

    def count(self, set_key: str) -> int:
        return int(self.r.scard(set_key))

    def within(self, set_key: str, conv_ids: list[str]) -> list[str]:
        """The ``conv_ids`` that are members of the set, in their order."""
        if not conv_ids:
            return []
        return [c for c, ok in zip(conv_ids, self.r.smismember(set_key, conv_ids)) if ok]

    def audience(self, set_key: str, account: str, marks: list[str], known_marks: list[str],
                 unknown_allowed: bool) -> tuple[list[str], int]:
        """(LINE user ids, how many blocked) of the 1:1 friends of ``account`` in the set whose stored mark is
        one of ``marks`` (any mark when empty; a mark not in ``known_marks`` counts when ``unknown_allowed``).
        One Lua script: one round trip, Redis busy ~1 µs per member."""
        got = self._audience(keys=[set_key], args=[self.keys.conv(conv_id=""), account, "m" if marks else "",
                                                   "1" if unknown_allowed else "0", len(marks), *marks, *known_marks])
        return list(got[1:]), int(got[0])

    def restriction(self, account: str, terms: list[tuple[str, str]]) -> str:
        """A set key holding the conversations that match every term: the index set itself for one
        term, else a short-lived SINTERSTORE of them (used to intersect the /pending indexes)."""
        keys = [self.term_key(account, t) for t in terms]
        if len(keys) == 1:
            return keys[0]
        tmp = self.keys.friend_tmp(token=secrets.token_hex(8))
        pipe = self.r.pipeline(transaction=False)
        pipe.sinterstore(tmp, keys)
        pipe.expire(tmp, TMP_TTL)
        pipe.execute()
        return tmp


def diff(old: FriendData, new: FriendData) -> dict:
    changes: dict = {}
    fields = {k: [old.fields.get(k, ""), new.fields.get(k, "")] for k in set(old.fields) | set(new.fields)
              if old.fields.get(k, "") != new.fields.get(k, "")}
    if fields:
        changes["fields"] = fields
    old_n, new_n = {norm(t): t for t in old.tags}, {norm(t): t for t in new.tags}
    added = [t for n, t in new_n.items() if n not in old_n]
    removed = [t for n, t in old_n.items() if n not in new_n]
    if added:
        changes["tags_added"] = added
    if removed:
        changes["tags_removed"] = removed
    if old.tags != new.tags and not added and not removed:
        changes["tags_renamed"] = new.tags
    if old.note != new.note:
        changes["note"] = True
    return changes
