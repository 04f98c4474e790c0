"""The Redis side of retention and of forgetting a friend (bridge/privacy/ drives both).

Keys (:mod:`bridge.keys`)::

    transcript(conv_id)            zset: the conversation's archived entries (JSON, score = time)
    archive_refs(sha256)           set: conv_ids whose entries refer to that media file
    retention_stats(account)       hash: last run's and total counts of deleted entries and media
    forgotten                      list of JSON: who forgot a friend, when, how — never whom

Forgetting deletes the conversation's own keys by name, takes it out of the shared indexes
through their owners' rules (backlog, 友だち情報 sets, name index, number map), removes the friend's
own entries from the archives of group chats and rooms (the other members' entries stay; see
:meth:`ForgetStore.release_media` for the order that keeps a retried item complete), then sweeps the
whole namespace once for anything else that still names the friend (their LINE id is part of
the conversation id, so one needle finds both): records of their messages, queued work,
dead letters, the forward queues' copies, /stats records (kept, anonymised, so the counts stay).
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

import redis

from bridge.archive.entry import HISTORY_SINCE
from bridge.keys import Keys
from bridge.store.backlog import Backlog
from bridge.store.forget_groups import GroupArchives
from bridge.store.friends import norm

SCAN_COUNT = 1000
ANONYMOUS = "forgotten"

# Take conv_id (ARGV[1]) off each media file's reference set (KEYS); return the files nobody refers to now.
_DROP_REFS = """
local gone = {}
for i, key in ipairs(KEYS) do
  redis.call('SREM', key, ARGV[1])
  if redis.call('SCARD', key) == 0 then redis.call('DEL', key) table.insert(gone, ARGV[i + 1]) end
end
return gone
"""


@dataclass
class ForgetResult:
    """What one forget removed (counts only: the audit keeps no content)."""

    keys: int = 0                    # keys deleted whole
    members: int = 0                 # entries removed from shared keys (indexes, queues, dead letters)
    anonymised: int = 0              # /stats records kept without the conversation
    group_entries: int = 0           # the friend's own messages removed from group chats' archives
    groups: int = 0                  # group chats (and rooms) they were removed from
    media: list[str] = field(default_factory=list)  # archived media files nobody refers to any more (to delete)

    def summary(self) -> dict[str, int]:
        return {"keys": self.keys, "members": self.members, "anonymised": self.anonymised, "media": len(self.media),
                "group_entries": self.group_entries, "groups": self.groups}


def media_of(entries: list[str]) -> set[str]:
    """The media hashes the transcript entries (raw JSON) refer to."""
    out: set[str] = set()
    for raw in entries:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        for item in entry.get("media") or [] if isinstance(entry, dict) else []:
            sha = item.get("sha256") if isinstance(item, dict) else None
            if isinstance(sha, str) and sha.isalnum():
                out.add(sha)
    return out


# Raise the conversation's history_since to ARGV[2] (never lower it; never create the hash).
_RAISE_SINCE = """
if redis.call('HEXISTS', KEYS[1], 'conv_id') == 0 then return 0 end
local now = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0
if tonumber(ARGV[2]) > now then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0
"""


class ForgetStore:
    def __init__(self, r: redis.Redis, keys: Keys, backlog: Backlog, groups: GroupArchives):
        self.r = r
        self.keys = keys
        self.backlog = backlog
        self.groups = groups
        self._drop_refs = r.register_script(_DROP_REFS)
        self._raise_since = r.register_script(_RAISE_SINCE)

    # -- media references ------------------------------------------------------------------
    def drop_media_refs(self, conv_id: str, hashes: set[str]) -> list[str]:
        """The conversation no longer refers to ``hashes``; returns those no conversation refers to now."""
        ordered = sorted(hashes)
        if not ordered:
            return []
        return list(self._drop_refs(keys=[self.keys.archive_refs(sha256=h) for h in ordered],
                                    args=[conv_id, *ordered]))

    # -- retention -----------------------------------------------------------------------------
    def conversations_with_history(self) -> Iterator[str]:
        """Every conversation id with a transcript (SCAN: never blocks Redis)."""
        prefix = self.keys.transcript(conv_id="")
        for key in self.r.scan_iter(match=prefix + "*", count=SCAN_COUNT, _type="zset"):
            yield key[len(prefix):]

    def expire(self, conv_id: str, before: float, limit: int) -> tuple[int, list[str]]:
        """Delete up to ``limit`` of the conversation's entries older than ``before``; returns how many,
        and the media files no entry of any conversation refers to any more."""
        key = self.keys.transcript(conv_id=conv_id)
        old = self.r.zrangebyscore(key, "-inf", f"({before!r}", start=0, num=limit)
        if not old:
            return 0, []
        self.r.zrem(key, *old)
        self._history_since(conv_id, before)
        hashes = media_of(old)
        still = {h for h in hashes if next(self.r.zscan_iter(key, match=f"*{h}*", count=SCAN_COUNT), None)}
        return len(old), self.drop_media_refs(conv_id, hashes - still)

    def _history_since(self, conv_id: str, since: float) -> None:
        """The conversation's history is complete from ``since`` on (the history page says where it starts);
        a conversation hash that is gone is not written again."""
        key = self.keys.conv(conv_id=conv_id)
        self._raise_since(keys=[key], args=[HISTORY_SINCE, repr(since)])

    def record_retention(self, account: str, entries: int, media: int, at: float) -> None:
        key = self.keys.retention_stats(account=account)
        pipe = self.r.pipeline()
        pipe.hset(key, mapping={"at": repr(at), "entries": entries, "media": media})
        pipe.hincrby(key, "total_entries", entries)
        pipe.hincrby(key, "total_media", media)
        pipe.execute()

    def retention_stats(self, account: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.retention_stats(account=account))

    # -- the audit of forgetting ------------------------------------------------------------------
    def record_forgotten(self, op_id: str, by: str, via: str, at: float, summary: dict[str, int]) -> None:
        """That a friend was forgotten, by whom, when and how — no name, text or id of the friend."""
        self.r.rpush(self.keys.forgotten(), json.dumps({"op": op_id, "by": by, "via": via, "at": at, **summary},
                                                       separators=(",", ":")))

    def forgotten(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self.keys.forgotten(), 0, -1)]

    def was_forgotten(self, op_id: str) -> bool:
        return any(entry.get("op") == op_id for entry in self.forgotten()[-200:])

    # -- forgetting a friend ---------------------------------------------------------------------
    def release_media(self, conv_id: str, line_id: str) -> list[str]:
        """The first step of forgetting: the friend's conversation and their own entries in group chats
        stop referring to their media files; returns the files nobody refers to now, for the caller to
        delete BEFORE :meth:`forget` deletes the entries. Nothing is deleted here, so an item retried
        after a crash finds the same entries and the same files again (a reference set already gone
        counts as nobody's), and no file is left that nothing refers to."""
        transcript = self.r.zrange(self.keys.transcript(conv_id=conv_id), 0, -1)
        gone = set(self.drop_media_refs(conv_id, media_of(transcript)))
        for group_id, theirs in self.groups.entries_of(line_id):
            hashes = media_of(list(theirs))   # a file another member sent too stays referred to by the group
            gone |= set(self.drop_media_refs(group_id, hashes - self.groups.shared_by_others(group_id, theirs, hashes)))
        return sorted(gone)

    def forget(self, conv_id: str, line_id: str, keep_stream: str) -> ForgetResult:
        """Delete everything Redis keeps of the conversation except the work queue it runs on
        (``keep_stream``: later items there are the friend's new messages), and the friend's own
        messages in group chats. Idempotent; call :meth:`release_media` (and delete its files) first."""
        out = ForgetResult()
        conv = self.r.hgetall(self.keys.conv(conv_id=conv_id))
        account = conv.get("account") or conv_id.partition("-")[0]
        out.media = self.release_media(conv_id, line_id)
        self._forget_in_groups(line_id, out)
        self.backlog.remove(conv_id)
        self._forget_friend(account, conv_id, conv.get("name", ""))
        if conv.get("number"):
            self.r.hdel(self.keys.conv_by_number(), conv["number"])
        # The conversation id holds the LINE id; the thread's keys and queued work name channel and ts.
        names: list[str] = [line_id or conv_id]
        if conv.get("channel") and conv.get("thread_ts"):
            names += [f"{conv['channel']}:{conv['thread_ts']}", f"{conv['channel']}-{conv['thread_ts']}"]
        self._sweep(names, keep_stream, out)
        return out

    def _forget_in_groups(self, line_id: str, out: ForgetResult) -> None:
        """The friend's own entries leave the group archives (bridge.store.forget_groups); the rest stays."""
        for group_id, theirs in list(self.groups.entries_of(line_id)):
            removed = self.groups.remove(group_id, theirs)
            out.group_entries += removed
            out.groups += 1 if removed else 0

    def _forget_friend(self, account: str, conv_id: str, name: str) -> None:
        """友だち情報 and the sets that index it, with the owner's normalisation (bridge.store.friends)."""
        data = self.r.hgetall(self.keys.friend(conv_id=conv_id))
        pipe = self.r.pipeline()
        try:
            tags = json.loads(data.get("tags") or "[]")
        except ValueError:
            tags = []
        for tag in tags if isinstance(tags, list) else []:
            pipe.srem(self.keys.friend_tag(account=account, tag=norm(str(tag))), conv_id)
        for fkey, value in data.items():
            if fkey.startswith("f.") and value:
                pipe.srem(self.keys.friend_field(account=account, field=fkey[2:], value=norm(value)), conv_id)
        if name:
            pipe.zrem(self.keys.friend_names(account=account), f"{norm(name)}\0{conv_id}")
        pipe.delete(self.keys.friend(conv_id=conv_id))
        pipe.execute()

    def _sweep(self, names: list[str], keep_stream: str, out: ForgetResult) -> None:
        """One pass over the namespace (SCAN, pipelined reads): delete keys named after the conversation,
        take its entries out of shared keys, anonymise its /stats records."""
        kept = {self.keys.inbox(stream=keep_stream), self.keys.inbox_lock(stream=keep_stream),
                self.keys.inbox_attempts(stream=keep_stream), self.keys.inbox_hold(stream=keep_stream),
                self.keys.inbox_drain_queued(stream=keep_stream), self.keys.forgotten()}
        stats_prefix = self.keys.stats(account="", what="")[:-1]
        for batch in self._batches():
            pipe = self.r.pipeline(transaction=False)
            for key in batch:
                pipe.type(key)
            doomed, reads = [], []
            for key, kind in zip(batch, pipe.execute()):
                if key in kept:
                    continue
                if any(n in key for n in names):
                    doomed.append(key)
                elif self._another_friends(key):
                    continue
                elif kind == "zset" and key.startswith(stats_prefix):
                    self._anonymise(key, names[0], out)
                elif kind in _READ:
                    reads.append((key, kind))
            pipe = self.r.pipeline(transaction=False)
            for key, kind in reads:
                _READ[kind](pipe, key)
            for (key, kind), value in zip(reads, pipe.execute()):
                self._scrub(key, kind, value, names, {keep_stream}, out)
            if doomed:
                out.keys += self.r.delete(*doomed)

    def _another_friends(self, key: str) -> bool:
        """A key of another 1:1 conversation (its state, history, 友だち情報…): it cannot name this friend.
        (A group's keys are read: the friend may have written there.)"""
        rest = next((key[len(p):] for p in self._per_conversation if key.startswith(p)), None)
        return rest is not None and rest.partition("-")[2].startswith("U")

    @property
    def _per_conversation(self) -> tuple[str, ...]:
        k = self.keys
        return tuple(kind(conv_id="") for kind in (k.conv, k.transcript, k.friend, k.events, k.notes, k.parent_first,
                                                   k.reminder, k.follow))

    def _batches(self) -> Iterator[list[str]]:
        batch: list[str] = []
        for key in self.r.scan_iter(match=self.keys.pattern(), count=SCAN_COUNT):
            batch.append(key)
            if len(batch) >= 500:
                yield batch
                batch = []
        if batch:
            yield batch

    def _scrub(self, key: str, kind: str, value: Any, names: list[str], kept: set[str], out: ForgetResult) -> None:
        def named(text: str) -> bool:
            return any(n in text for n in names)

        if kind == "string":
            if named(value or ""):
                out.keys += self.r.delete(key)
        elif kind == "hash":
            hits = [f for f, v in value.items() if named(f) or named(v)]
            if not hits:
                return
            if any(named(value[f]) for f in hits if f in ("conv_id", "conv")):
                out.keys += self.r.delete(key)  # a record of one of the friend's messages
            else:
                out.members += self.r.hdel(key, *hits)  # a shared index (number map, episodes…)
        elif kind == "list":
            for raw in set(value):
                if (named(raw) or _forwarded(raw, names[0])) and raw not in kept:
                    out.members += self.r.lrem(key, 0, raw)
        elif kind == "set":
            hits = [m for m in value if named(m) and m not in kept]
            if hits:
                out.members += self.r.srem(key, *hits)
        elif kind == "zset":
            hits = [m for m in value if named(m) and not any(m.endswith("\t" + k) for k in kept)]
            if hits:
                out.members += self.r.zrem(key, *hits)

    def _anonymise(self, key: str, needle: str, out: ForgetResult) -> None:
        """/stats records keep counting (a response time stays a response time) without the conversation."""
        hits = [(m, s) for m, s in self.r.zscan_iter(key, count=SCAN_COUNT) if needle in m]
        if not hits:
            return
        pipe = self.r.pipeline()
        for member, score in hits:
            try:
                record = json.loads(member)
                record = {k: (ANONYMOUS if isinstance(v, str) and needle in v else v) for k, v in record.items()}
                new = json.dumps({**record, "anon": uuid.uuid4().hex[:8]}, separators=(",", ":"))  # stays one record each
            except (ValueError, AttributeError):
                new = None
            pipe.zrem(key, member)
            if new is not None:
                pipe.zadd(key, {new: score})
        pipe.execute()
        out.anonymised += len(hits)


_READ = {
    "string": lambda pipe, key: pipe.get(key),
    "hash": lambda pipe, key: pipe.hgetall(key),
    "list": lambda pipe, key: pipe.lrange(key, 0, -1),
    "set": lambda pipe, key: pipe.smembers(key),
    "zset": lambda pipe, key: pipe.zrange(key, 0, -1),
}


def _forwarded(raw: str, needle: str) -> bool:
    """Whether a queued or dead-lettered forward item carries a webhook naming the friend (its body is base64)."""
    if '"body"' not in raw:
        return False
    try:
        item = json.loads(raw)
        body = (item.get("payload") or {}).get("body") or ""
        return needle.encode() in base64.b64decode(body, validate=False)
    except (ValueError, AttributeError, TypeError, binascii.Error):
        return False
