"""The Redis side of forgetting a friend in group chats and rooms (bridge/privacy/forget.py drives it).

Why a friend's group messages need their own rules: a group's archive (``transcript:{conv_id}`` of a
group or room) holds every member's messages, so it cannot be deleted whole like a 1:1 chat's. The
friend's own entries (``author`` = their LINE id) go whole — text, media, display name, LINE id, the
message records mapping them to Slack — and the other members' entries stay exactly as they were.
A media file goes only when nothing refers to it any more: a photo another member sent too stays.

What names the friend only by their words is found through those entries: the group's /pending
preview, the snapshots of the group kept in the Slack post records of later messages, and the
thread parent's first messages when they were the friend's.

Keys (:mod:`bridge.keys`): ``transcript``, ``archive_refs`` (through the caller), ``line_msg``,
``conv``, ``slack_post``, ``parent_first``.
"""
from __future__ import annotations

import json
from typing import Iterator

import redis

from bridge.keys import Keys
from bridge.text import mrkdwn, preview

SCAN_COUNT = 1000
GROUP_PREFIXES = ("C", "R")   # LINE group ids start with C, room ids with R (user ids with U)


def _entries(raws: set[str]) -> list[dict]:
    out = []
    for raw in raws:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


class GroupArchives:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys

    def entries_of(self, line_id: str) -> Iterator[tuple[str, set[str]]]:
        """(group conv_id, the friend's raw entries there) for every group chat or room whose archive names
        them. SCAN and ZSCAN: never blocks Redis."""
        if not line_id:
            return
        prefix = self.keys.transcript(conv_id="")
        for key in self.r.scan_iter(match=prefix + "*", count=SCAN_COUNT, _type="zset"):
            group_id = key[len(prefix):]
            if group_id.partition("-")[2][:1] not in GROUP_PREFIXES:
                continue   # a 1:1 chat: its archive is one friend's (deleted whole)
            theirs = {m for m, _ in self.r.zscan_iter(key, match=f"*{line_id}*", count=SCAN_COUNT) if line_id in m}
            if theirs:
                yield group_id, theirs

    def posts_of(self, line_id: str) -> list[tuple[str, str, str, set[str]]]:
        """(group conv_id, channel, thread ts, the ts of the Slack posts showing the friend's messages) per
        group thread; the thread's parent is the group's and is not listed (it is re-rendered instead)."""
        out = []
        for group_id, theirs in self.entries_of(line_id):
            channel, thread_ts = self.r.hmget(self.keys.conv(conv_id=group_id), "channel", "thread_ts")
            shown = {str(e["slack_ts"]) for e in _entries(theirs) if e.get("slack_ts")} - {thread_ts}
            if channel and thread_ts:
                out.append((group_id, channel, thread_ts, shown))
        return out

    def shared_by_others(self, group_id: str, theirs: set[str], hashes: set[str]) -> set[str]:
        """The media files of ``hashes`` that another entry of the group refers to too."""
        key = self.keys.transcript(conv_id=group_id)
        return {h for h in hashes
                if any(m not in theirs for m, _ in self.r.zscan_iter(key, match=f"*{h}*", count=SCAN_COUNT))}

    def remove(self, group_id: str, theirs: set[str]) -> int:
        """The friend's entries leave the group's archive, with what shows their words elsewhere; returns
        how many entries were removed (0 when a retried item finds them gone)."""
        account = group_id.partition("-")[0]
        entries = _entries(theirs)
        previews = {preview(str(e.get("text") or "")) for e in entries if e.get("text")}
        names = {str(e.get("name")) for e in entries if e.get("name")}
        pipe = self.r.pipeline()
        pipe.zrem(self.keys.transcript(conv_id=group_id), *theirs)
        for e in entries:
            if e.get("line_message_id"):
                pipe.delete(self.keys.line_msg(account=account, message_id=str(e["line_message_id"])))
        removed = pipe.execute()[0]
        self._scrub_words(group_id, account, previews, names)
        return int(removed)

    def _scrub_words(self, group_id: str, account: str, previews: set[str], names: set[str]) -> None:
        conv_key = self.keys.conv(conv_id=group_id)
        if previews and self.r.hget(conv_key, "last_message_preview") in previews:
            self.r.hset(conv_key, "last_message_preview", "")   # /pending: the group's last words were theirs
        first = self.keys.parent_first(conv_id=group_id)
        header = (self.r.get(first) or "").split("\n", 1)[0]
        if header and header in {f"*{mrkdwn.escape(n)}*" for n in names}:
            self.r.delete(first)   # the parent showed the friend's first messages: it shows none from now on
        if not previews:
            return
        for key in self.r.scan_iter(match=self.keys.slack_post(post_key=f"line-{account}-") + "*", count=SCAN_COUNT):
            raw = self.r.hget(key, "before")
            try:
                before = json.loads(raw) if raw else None
            except ValueError:
                continue
            if isinstance(before, dict) and before.get("conv_id") == group_id \
                    and before.get("last_message_preview") in previews:
                self.r.hset(key, "before", json.dumps({**before, "last_message_preview": ""}, ensure_ascii=False))
