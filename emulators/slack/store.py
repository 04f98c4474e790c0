"""Message storage internals of the emulator (ts allocation, threads, reactions, tombstones)."""
from __future__ import annotations

import bisect
import copy
import itertools
import time
from typing import Any

from emulators.slack.util import _ApiError, _key_ts, _ts_key

#: File ids are never reused, across :meth:`reset` and emulator instances, as on Slack: the bridge keeps
#: a file's bytes by its id (bridge.media.cache), and a reused id would serve another test's file.
_file_ids = itertools.count(1)


class _StoreMixin:
    """Mixed into :class:`~emulators.slack.core.SlackEmulator`; works on its state under its lock."""

    # ---------------------------------------------------------------- internals: storage
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(_file_ids if prefix == 'F' else self._ids):08X}"

    def _next_ts(self) -> int:
        # Realistic "seconds.micro" ts, strictly increasing even within one microsecond.
        now = time.time_ns() // 1000
        self._last_ts = now if now > self._last_ts else self._last_ts + 1
        return self._last_ts

    def _resolve_channel(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise _ApiError("channel_not_found")
        if value in self.channels:
            return value
        if value[:1] in ("U", "W") and value in self.users:
            # chat.postMessage with a user id posts in the app's DM with that user (App Home
            # "Messages" tab); Slack answers with the DM's own "D…" channel id.
            dm = self.dm_channel(value)
            if dm not in self.channels:
                self.add_channel(dm, value, members=[value])
            return dm
        # chat.postMessage also accepts a channel name ("#general" or "general").
        cid = self._channel_names.get(value.lstrip("#"))
        if cid is None:
            raise _ApiError("channel_not_found")
        return cid

    def _store_message(self, channel: str, msg: dict[str, Any], *, thread_ts: str | None = None,
                       broadcast: bool = False) -> tuple[dict[str, Any], list[str]]:
        """Assign a ts, index the message (top-level and/or thread) and update thread parents."""
        notes: list[str] = []
        key = self._next_ts()
        ts = _key_ts(key)
        msg["ts"] = ts
        msgs = self._msgs.setdefault(channel, {})
        top = self._top.setdefault(channel, [])
        if thread_ts is None:
            msgs[key] = msg
            top.append(key)
            return msg, notes
        parent_key = _ts_key(thread_ts)
        parent = msgs.get(parent_key)
        if parent is not None and parent.get("thread_ts") and parent["thread_ts"] != parent["ts"]:
            # thread_ts pointed at a reply: Slack docs say to use the parent's ts instead.
            notes.append(f"warning: thread_ts {thread_ts} is a reply; attached to its parent {parent['thread_ts']}")
            thread_ts = parent["thread_ts"]
            parent_key = _ts_key(thread_ts)
            parent = msgs.get(parent_key)
        msg["thread_ts"] = thread_ts
        if parent is None:
            # Real Slack answers ok for an unknown thread_ts, but the reply is shown nowhere.
            notes.append(f"warning: thread_ts {thread_ts} does not match any message in {channel}; "
                         "Slack accepts this but the reply is invisible")
        else:
            msg["parent_user_id"] = parent.get("user", "")
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            users = parent.setdefault("reply_users", [])
            author = msg.get("user") or msg.get("bot_id", "")
            if author not in users:
                users.append(author)
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = ts
            parent.setdefault("is_locked", False)
            parent.setdefault("subscribed", False)
        if broadcast:
            msg["subtype"] = "thread_broadcast"
            msg["root"] = copy.deepcopy(parent) if parent is not None else None
            top.append(key)
        msgs[key] = msg
        self._threads.setdefault((channel, parent_key), []).append(key)
        return msg, notes

    def _find_message(self, channel: str, ts: str) -> dict[str, Any]:
        msg = self._msgs.get(channel, {}).get(_ts_key(ts))
        if msg is None:
            raise _ApiError("message_not_found")
        return msg

    def _remove_message(self, channel: str, msg: dict[str, Any]) -> None:
        key = _ts_key(msg["ts"])
        msgs = self._msgs[channel]
        thread_ts = msg.get("thread_ts")
        has_replies = bool(self._threads.get((channel, key)))
        if thread_ts == msg["ts"] and has_replies:
            # A deleted parent with replies stays as a tombstone, like in Slack.
            for k in [k for k in msg if k not in ("ts", "thread_ts", "reply_count", "reply_users",
                                                  "reply_users_count", "latest_reply", "type")]:
                del msg[k]
            msg.update({"subtype": "tombstone", "text": "This message was deleted.", "user": "USLACKBOT",
                        "hidden": True})
            return
        del msgs[key]
        self._discard_key(self._top.get(channel, []), key)
        if thread_ts and thread_ts != msg["ts"]:
            parent_key = _ts_key(thread_ts)
            self._discard_key(self._threads.get((channel, parent_key), []), key)
            parent = msgs.get(parent_key)
            if parent is not None:
                parent["reply_count"] = max(0, parent.get("reply_count", 1) - 1)
                replies = self._threads.get((channel, parent_key), [])
                if replies:
                    parent["latest_reply"] = _key_ts(replies[-1])

    @staticmethod
    def _discard_key(keys: list[int], key: int) -> None:
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]

    @staticmethod
    def _react(msg: dict[str, Any], name: str, user: str) -> bool:
        reactions = msg.setdefault("reactions", [])
        for r in reactions:
            if r["name"] == name:
                if user in r["users"]:
                    return False
                r["users"].append(user)
                r["count"] += 1
                return True
        reactions.append({"name": name, "users": [user], "count": 1})
        return True

    @staticmethod
    def _unreact(msg: dict[str, Any], name: str, user: str) -> bool:
        reactions = msg.get("reactions", [])
        for i, r in enumerate(reactions):
            if r["name"] == name and user in r["users"]:
                r["users"].remove(user)
                r["count"] -= 1
                if r["count"] == 0:
                    del reactions[i]
                if not reactions:
                    msg.pop("reactions", None)
                return True
        return False

    def _bot_message(self, args: dict[str, Any], text: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": "",
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "icons": {"image_48": f"https://avatars.example.invalid/{self.bot_id}_48.png"},
                "deleted": False,
                "team_id": self.team_id,
            },
        }
        return msg

