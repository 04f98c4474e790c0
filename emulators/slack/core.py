"""The :class:`SlackEmulator`: workspace state, public set-up/inspection API.

The HTTP layer (:mod:`.http`), control endpoints (:mod:`.control`), storage internals
(:mod:`.store`), files (:mod:`.files`) and rate limits (:mod:`.ratelimit`) are mixins; Web API
methods are registered by :mod:`.chat`, :mod:`.reactions`, :mod:`.directory`, :mod:`.views` and
:mod:`.files`.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import secrets
import threading
import time
from typing import Any, Callable, Iterable

from flask import Flask

from emulators.slack.control import _ControlMixin
from emulators.slack.files import _FilesMixin
from emulators.slack.shared_files import _SharedFilesMixin
from emulators.slack.http import _HttpMixin
from emulators.slack.ratelimit import _RateLimitMixin
from emulators.slack.store import _StoreMixin
from emulators.slack.util import _TS_RE, DEFAULT_SCOPES, RecordedCall, _Fault, _key_ts, _ts_key, rich_text_blocks


class SlackEmulator(_HttpMixin, _ControlMixin, _FilesMixin, _SharedFilesMixin, _StoreMixin, _RateLimitMixin):
    """In-memory Slack workspace + Web API served by :attr:`app` (a Flask app).

    Serve it with ``emulators.server.serve_in_thread(emulator.app)`` and point
    ``slack_sdk.WebClient(token=emulator.bot_token, base_url=url + "/api/")`` at it.
    All public methods are thread-safe.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        signing_secret: str = "test-signing-secret",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        scopes: set[str] | None = None,
        *,
        team_name: str = "Test Team",
        team_domain: str = "testteam",
        bot_name: str = "bridge-bot",
        app_id: str = "A0TEST",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.scopes: set[str] = set(DEFAULT_SCOPES if scopes is None else scopes)
        #: Base URL the emulator is reachable at (learned from the first request, or set it).
        self.url: str | None = None
        self._lock = threading.RLock()
        self._initial_clock: Callable[[], float] = clock or time.time
        #: Time source of the rate limiter (``time.time`` unless injected); reset() restores it.
        self.clock: Callable[[], float] = self._initial_clock
        self.app: Flask = self._build_app()
        self.reset()

    # ---------------------------------------------------------------- state management
    def reset(self) -> None:
        """Forget all messages, calls, faults, files, views and responses; keep nothing but the bot user.

        Channels and users added earlier are removed too; rate limits are switched off again and
        their statistics cleared.
        """
        with self._lock:
            self.clock = self._initial_clock
            self._reset_rate_limits()
            self.calls: list[RecordedCall] = []
            self._calls_by_method: dict[str, list[RecordedCall]] = {}
            self._faults: list[_Fault] = []
            self.channels: dict[str, dict[str, Any]] = {}
            self._channel_names: dict[str, str] = {}
            self._members: dict[str, list[str]] = {}
            self.users: dict[str, dict[str, Any]] = {}
            #: User groups by id: ``{"id", "handle", "name", "users": [...], "date_delete"}`` (add_usergroup).
            self.usergroups: dict[str, dict[str, Any]] = {}
            self._msgs: dict[str, dict[int, dict[str, Any]]] = {}
            self._top: dict[str, list[int]] = {}
            self._threads: dict[tuple[str, int], list[int]] = {}
            self._ephemerals: list[dict[str, Any]] = []
            #: Views opened/updated/published, by view id.
            self.views: dict[str, dict[str, Any]] = {}
            #: Uploaded files by id: file object plus ``"content"`` (bytes).
            self.files: dict[str, dict[str, Any]] = {}
            self._deleted_files: set[str] = set()
            #: ``url_private``/``thumb_*`` downloads served, in order: {"file", "path", "authorized"}.
            self.file_downloads: list[dict[str, Any]] = []
            #: JSON bodies posted to ``response_url``\s (replies to commands/actions), in order.
            self.responses: list[dict[str, Any]] = []
            self._response_ctx: dict[str, dict[str, Any]] = {}
            self._triggers: dict[str, float] = {}
            #: trigger_id -> the modal whose interaction issued it (views.push stacks on that modal)
            self._trigger_views: dict[str, str] = {}
            self._exchanged_triggers: set[str] = set()
            self._last_ts = 0
            self._ids = itertools.count(1)
            self.add_user(self.bot_user_id, self.bot_name, real_name=self.bot_name, is_bot=True)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the bot's direct-message conversation with ``user_id`` (stable, "D…")."""
        return "D" + user_id[1:]

    def add_channel(self, channel_id: str, name: str, members: Iterable[str] = (), is_private: bool = False) -> None:
        """Create (or replace) a conversation. The bot user is always a member."""
        with self._lock:
            member_list = list(dict.fromkeys([*members, self.bot_user_id]))
            is_im = channel_id.startswith("D")
            self.channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "name_normalized": name,
                "is_channel": not is_private and not is_im,
                "is_group": is_private and not is_im,
                "is_im": is_im,
                "is_mpim": False,
                "is_private": is_private or is_im,
                "is_archived": False,
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_member": True,
                "created": int(time.time()),
                "creator": member_list[0],
                "context_team_id": self.team_id,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
                "num_members": len(member_list),
            }
            self._channel_names[name.lstrip("#")] = channel_id
            self._members[channel_id] = member_list
            self._msgs.setdefault(channel_id, {})
            self._top.setdefault(channel_id, [])

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        display_name: str | None = None,
        is_bot: bool = False,
        image_url: str | None = None,
    ) -> None:
        """Create (or replace) a workspace user, returned by ``users.info`` like Slack's user object."""
        real = real_name if real_name is not None else name
        disp = display_name if display_name is not None else ""
        img = image_url or f"https://avatars.example.invalid/{user_id}.png"
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": disp,
            "display_name_normalized": disp,
            "first_name": real.split(" ")[0] if real else "",
            "last_name": " ".join(real.split(" ")[1:]) if real else "",
            "title": "",
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": hashlib.md5(img.encode()).hexdigest()[:12],  # noqa: S324 - not security
            "team": self.team_id,
        }
        for size in (24, 32, 48, 72, 192, 512, 1024):
            profile[f"image_{size}"] = img
        profile["image_original"] = img
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id[1:]}"
            profile["api_app_id"] = self.app_id
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real,
            "tz": "Asia/Tokyo",
            "tz_label": "Japan Standard Time",
            "tz_offset": 32400,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        with self._lock:
            self.users[user_id] = user

    def add_usergroup(self, group_id: str, handle: str, users: list[str], disabled: bool = False) -> None:
        """Create (or replace) a user group (``usergroups.users.list``); assign ``users`` again to change it."""
        with self._lock:
            self.usergroups[group_id] = {"id": group_id, "team_id": self.team_id, "is_usergroup": True,
                                         "handle": handle, "name": handle, "users": list(users),
                                         "date_delete": int(time.time()) if disabled else 0}

    # ---------------------------------------------------------------- inspection
    def calls_for(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one Web API method, in order."""
        with self._lock:
            return list(self._calls_by_method.get(method, ()))

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Stored messages, oldest first (copies).

        ``thread_ts=None``: the channel's top-level messages (including thread broadcasts);
        otherwise: the replies of that thread, excluding the parent.
        """
        with self._lock:
            msgs = self._msgs.get(channel, {})
            if thread_ts is None:
                keys: list[int] = self._top.get(channel, [])
            else:
                keys = self._threads.get((channel, _ts_key(thread_ts)), [])
            return [copy.deepcopy(msgs[k]) for k in keys if k in msgs]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One stored message (top-level or reply) by ``ts``, or None."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts)) if _TS_RE.match(ts) else None
            return copy.deepcopy(msg) if msg is not None else None

    def reactions(self, channel: str, ts: str) -> dict[str, list[str]]:
        """Reactions on a message: emoji name -> user ids (in the order they reacted)."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts)) if _TS_RE.match(ts) else None
            if msg is None:
                return {}
            return {r["name"]: list(r["users"]) for r in msg.get("reactions", [])}

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (``chat.postEphemeral`` and ephemeral ``response_url`` replies)."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
            ]

    def wait_for(self, predicate: Callable[["SlackEmulator"], Any], timeout: float = 10.0) -> bool:
        """Poll until ``predicate(self)`` is truthy; False on time-out."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # ---------------------------------------------------------------- helpers for the event sender
    def add_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        subtype: str | None = None,
        files: list[dict[str, Any] | str] | None = None,
        blocks: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a message written by a human (as the Slack client would) and return a copy.

        The shape follows the ``message`` event / ``conversations.history`` item of a user message:
        ``client_msg_id``, ``team``, ``rich_text`` ``blocks`` and, in threads, ``thread_ts`` and
        ``parent_user_id``. ``files`` are Slack file objects or ids of stored files (e.g. from
        ``files_upload_v2`` or :meth:`add_file`), which are expanded and get the share recorded.
        """
        with self._lock:
            if channel not in self.channels:
                raise KeyError(f"unknown channel {channel}")
            msg: dict[str, Any] = {"type": "message"}
            if subtype:
                msg["subtype"] = subtype
            msg.update({
                "user": user,
                "text": text,
                "ts": "",
                "team": self.team_id,
                "client_msg_id": secrets.token_hex(16),
                "blocks": blocks if blocks is not None else rich_text_blocks(text),
            })
            if subtype is not None and subtype != "file_share":
                # Only plain typed messages (and file shares) carry a client_msg_id.
                msg.pop("client_msg_id", None)
            if files:
                files = [self._resolve_file(f) for f in files]
                msg["files"] = files
                msg["upload"] = False
                msg["display_as_bot"] = False
            if extra:
                msg.update(extra)
            stored, _notes = self._store_message(channel, msg, thread_ts=thread_ts)
            if files:
                self._record_share(channel, stored["ts"], stored.get("thread_ts"), user,
                                   [f["id"] for f in files if isinstance(f, dict) and f.get("id")])
            return copy.deepcopy(stored)

    def edit_user_message(self, channel: str, ts: str, user: str, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A human edits their own message (as the Slack client does): ``(previous, edited)`` copies,
        what the ``message_changed`` event carries. KeyError: no such message of ``user``."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts))
            if msg is None or msg.get("user") != user or msg.get("bot_id"):
                raise KeyError(f"no message {ts} of {user} in {channel}")
            previous = copy.deepcopy(msg)
            msg.update(text=text, blocks=rich_text_blocks(text), edited={"user": user, "ts": _key_ts(self._next_ts())})
            return previous, copy.deepcopy(msg)

    def delete_user_message(self, channel: str, ts: str, user: str) -> dict[str, Any]:
        """A human deletes their own message: the previous message (what ``message_deleted`` carries)."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts))
            if msg is None or msg.get("user") != user or msg.get("bot_id"):
                raise KeyError(f"no message {ts} of {user} in {channel}")
            previous = copy.deepcopy(msg)
            self._remove_message(channel, msg)
            return previous

    def add_reaction(self, channel: str, ts: str, name: str, user: str) -> bool:
        """Store a reaction; False if the user had already reacted with it or the message is unknown."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts))
            return msg is not None and self._react(msg, name, user)

    def remove_reaction(self, channel: str, ts: str, name: str, user: str) -> bool:
        """Remove a reaction; False if there was none."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts))
            return msg is not None and self._unreact(msg, name, user)

    def new_ts(self) -> str:
        """A fresh message-style ts (strictly increasing, shared with stored messages)."""
        with self._lock:
            return _key_ts(self._next_ts())

    def register_trigger_id(self, trigger_id: str, view_id: str | None = None) -> None:
        """Remember when a ``trigger_id`` was issued (they expire after 3 s, see views.open) and, for an
        interaction inside a modal, which one (``view_id``: views.push puts a view on top of it)."""
        with self._lock:
            self._triggers[trigger_id] = time.monotonic()
            if view_id:
                self._trigger_views[trigger_id] = view_id

    def register_response_url(self, response_id: str, **context: Any) -> None:
        """Attach context (``channel``, ``user``, ``message_ts``) to a response_url id so that
        ``replace_original``/``delete_original``/``in_channel`` replies act on the right message."""
        with self._lock:
            self._response_ctx[response_id] = context

