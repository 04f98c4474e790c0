"""The Slack side of the sandbox: the triage channel as staff see it.

What the page shows is read from the Slack emulator (exactly what the bridge posted, updated,
reacted and answered); what staff do is sent to the bridge's web process as Slack would send
it (signed events, slash commands and ``block_actions`` through ``emulators.slack_events``).
"""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable

import emoji as emoji_lib

from bridge.slack_ui.parent import SHORTCUT_ACTIONS
from devtools.sandbox.line_side import decode_data_url
from devtools.sandbox.config import SANDBOX_ADMIN
from emulators.slack_events import SlackEventSender

#: (user id, handle, real name, display name, avatar emoji, colour, member of the triage channel)
STAFF = [
    ("USATO", "sato", "佐藤 一郎", "佐藤", "🦊", "#e67e22", True),
    ("USUZUKI", "suzuki", "鈴木 花子", "鈴木", "🐼", "#8e44ad", True),
    ("UTANAKA", "tanaka", "田中 次郎", "田中", "🐻", "#2980b9", True),
    ("UGUEST", "guest", "ゲスト", "guest", "👤", "#7f8c8d", False),
]
_SHORTCODE = re.compile(r":([a-z0-9_+'\-]+(?:::skin-tone-[2-6])?):")
_MENTION = re.compile(r"(<[@#!][^>]*>)")


def slack_escape(text: str) -> str:
    """What the Slack client does to typed text: escape &, <, > (typed <@U…> mentions survive)."""
    parts = _MENTION.split(text)
    return "".join(p if i % 2 else p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   for i, p in enumerate(parts))


def _event_copy(msg: dict) -> dict:
    """A stored message as an event carries it (no reply bookkeeping, no reactions)."""
    return {k: v for k, v in msg.items()
            if k not in ("reactions", "reply_count", "reply_users", "reply_users_count", "latest_reply")}


def unicode_emoji(name: str) -> str | None:
    base = name.split("::")[0]
    out = emoji_lib.emojize(f":{base}:", language="alias")
    return None if out == f":{base}:" else out


class SlackSide:
    def __init__(self, emulator: Any, channel: str, channel_name: str, events_url: str, signing_secret: str,
                 avatar: Callable[[str, str], str], reactions: list[tuple[str, str]]) -> None:
        self.slack = emulator
        self.channel = channel
        self.reactions = reactions  # (shortcode, what it does) offered by the reaction picker
        for uid, handle, real, display, icon, color, _member in STAFF:
            emulator.add_user(uid, handle, real_name=real, display_name=display, image_url=avatar(icon, color))
        emulator.add_channel(channel, channel_name, members=[s[0] for s in STAFF if s[6]] + [emulator.bot_user_id])
        self.sender = SlackEventSender(events_url, emulator, signing_secret=signing_secret)
        self._lock = threading.Lock()
        self._acks: list[dict] = []          # ephemeral answers given in a command's HTTP response
        self._first_seen: list[float] = []   # when each of the emulator's ephemerals was first seen
        self._replace: list[tuple[str, int]] = []  # (ephemeral id, responses seen) awaiting replace_original
        self._replaced: dict[str, dict] = {}
        self._triggers: dict[str, str] = {}  # trigger_id of a shortcut run here -> who ran it
        self._closed: set[str] = set()       # modal view ids submitted or closed

    # ------------------------------------------------------------------ what staff do
    def mentions(self, text: str, command: bool = False) -> str:
        """``@suzuki`` / ``@鈴木`` → ``<@USUZUKI>`` as Slack's autocomplete does (in slash commands
        with ``should_escape``, as the manifest asks: ``<@USUZUKI|suzuki>``)."""
        names: dict[str, tuple[str, str]] = {}
        for uid, u in dict(self.slack.users).items():
            for n in (u["name"], u.get("profile", {}).get("display_name"), u.get("real_name")):
                if n and not u.get("is_bot"):
                    names.setdefault(n, (uid, u["name"]))
        pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        if not pattern:
            return text
        return re.sub(rf"(?<![<\w])@({pattern})", lambda m: "<@%s%s>" % (
            names[m.group(1)][0], "|" + names[m.group(1)][1] if command else ""), text)

    def post(self, user: str, text: str, thread_ts: str | None = None, file: dict | None = None) -> dict:
        """A message typed by ``user``; with ``file`` ({name, type, data: a data: URL}) an upload as
        the Slack client makes it: the file stored as ``user``'s, then a ``file_share`` message."""
        if not text.strip() and not file:
            raise ValueError("empty text")
        text = self.mentions(slack_escape(text)) if text.strip() else ""
        files = None
        if file:
            content_type, data = decode_data_url(str(file.get("data", "")))
            name = str(file.get("name") or "file").strip()[:255] or "file"
            files = [{"name": name, "content": data, "mimetype": str(file.get("type") or content_type)}]
        msg, resp = self.sender.user_message(self.channel, user, text, thread_ts=thread_ts or None, files=files)
        return {"status": resp.status_code, "ts": msg["ts"]}

    def edit(self, user: str, ts: str, text: str) -> dict:
        """``user`` edits their own message: stored, then Slack's ``message_changed`` event."""
        if not text.strip():
            raise ValueError("empty text")
        previous, edited = self.slack.edit_user_message(self.channel, ts, user, self.mentions(slack_escape(text)))
        now = f"{time.time():.6f}"
        event = {"type": "message", "subtype": "message_changed", "channel": self.channel, "hidden": True,
                 "ts": now, "event_ts": now, "channel_type": "channel",
                 "message": _event_copy(edited), "previous_message": _event_copy(previous)}
        return {"status": self.sender.send_event(event).status_code}

    def delete(self, user: str, ts: str) -> dict:
        """``user`` deletes their own message: removed, then Slack's ``message_deleted`` event."""
        previous = self.slack.delete_user_message(self.channel, ts, user)
        now = f"{time.time():.6f}"
        event = {"type": "message", "subtype": "message_deleted", "channel": self.channel, "hidden": True,
                 "ts": now, "event_ts": now, "channel_type": "channel", "deleted_ts": ts,
                 "previous_message": _event_copy(previous)}
        return {"status": self.sender.send_event(event).status_code}

    def react(self, user: str, ts: str, name: str, removed: bool = False) -> dict:
        return {"status": self.sender.reaction(user, self.channel, ts, name, removed=removed).status_code}

    def action(self, user: str, ts: str, action_id: str, value: str | None = None,
               option: dict | None = None, selected_user: str | None = None, ephemeral: str | None = None) -> dict:
        """Click a button / pick an option: the real ``block_actions`` payload, signed."""
        if ephemeral:
            with self._lock:
                self._replace.append((ephemeral, len(self.slack.responses)))
            ts = ts or self.slack.new_ts()  # ephemerals are not stored messages; Slack gives them a ts too
        resp = self.sender.block_action(user, self.channel, ts, action_id, value, selected_option=option,
                                        selected_user=selected_user or None)
        return {"status": resp.status_code}

    def command(self, user: str, text: str) -> dict:
        """``/pending mine`` typed in the channel: a signed slash command; an answer in the HTTP
        response is shown like Slack does (only to the person who ran it)."""
        name, _, args = text.strip().partition(" ")
        resp = self.sender.command(name, self.mentions(slack_escape(args.strip()), command=True), user_id=user,
                                   channel_id=self.channel)
        body: dict = {}
        if resp.content and "json" in resp.headers.get("Content-Type", ""):
            body = resp.json()
        elif resp.text.strip():
            body = {"text": resp.text}
        if resp.status_code == 404 or (not resp.ok and not body):
            body = {"text": f"`{name}` failed ({resp.status_code})"}
        if body.get("text") or body.get("blocks"):
            with self._lock:
                self._acks.append({"id": f"a{len(self._acks)}", "user": user, "text": body.get("text", ""),
                                   "blocks": body.get("blocks"), "thread_ts": None, "time": time.time(),
                                   "command": text.strip()})
        return {"status": resp.status_code}

    def shortcut(self, user: str, ts: str) -> dict:
        """The message shortcut 会話の操作 on a message: the bridge answers with views.open."""
        trigger = f"{int(time.time() * 1000)}.{time.monotonic_ns() % 10**9}.{user.lower()}"
        self.slack.register_trigger_id(trigger)
        with self._lock:
            self._triggers[trigger] = user
        resp = self.sender.message_shortcut(SHORTCUT_ACTIONS, user, self.channel, ts, trigger_id=trigger)
        return {"status": resp.status_code}

    def submit_view(self, user: str, view_id: str, values: dict | None) -> dict:
        """Submit (``values`` given: Slack's ``state.values``) or close an open modal."""
        view = self.slack.views.get(view_id)
        if view is None:
            raise KeyError(view_id)
        with self._lock:
            self._closed.add(view_id)
        if values is None:
            return {"status": 200}
        resp = self.sender.view_submission(user, view, values)
        answer = resp.json() if resp.content and "json" in resp.headers.get("Content-Type", "") else {}
        if answer.get("response_action") == "errors":
            with self._lock:
                self._closed.discard(view_id)
            return {"status": resp.status_code, "errors": answer.get("errors", {})}
        return {"status": resp.status_code}

    # ------------------------------------------------------------------ what staff see
    def _modals(self) -> list[dict]:
        with self._lock:
            triggers, closed = dict(self._triggers), set(self._closed)
        out = []
        for call in self.slack.calls_for("views.open"):
            user = triggers.get(call.args.get("trigger_id", ""))
            view_id = (call.response.get("view") or {}).get("id") if call.ok else None
            if user and view_id and view_id not in closed and view_id in self.slack.views:
                v = self.slack.views[view_id]
                out.append({"id": view_id, "user": user, "hash": v.get("hash"), "title": v.get("title"),
                            "submit": v.get("submit"), "close": v.get("close"), "blocks": v.get("blocks", [])})
        return out

    def _ephemerals(self) -> list[dict]:
        stored = self.slack.ephemerals(self.channel)
        responses = self.slack.responses
        with self._lock:
            now = time.time()
            self._first_seen += [now] * (len(stored) - len(self._first_seen))
            # A button in an ephemeral (/pending's "more") answers with replace_original, which
            # replaces that ephemeral in the Slack client.
            for eid, seen in list(self._replace):
                later = [r for r in responses[seen:] if r.get("replace_original")]
                if later:
                    self._replaced[eid] = later[0]
                    self._replace.remove((eid, seen))
            out = [{"id": f"e{i}", "user": e.get("user"), "text": e.get("text", ""), "blocks": e.get("blocks"),
                    "thread_ts": e.get("thread_ts"), "time": self._first_seen[i]} for i, e in enumerate(stored)]
            out += [dict(a) for a in self._acks]
            for e in out:
                if e["id"] in self._replaced:
                    e.update(text=self._replaced[e["id"]].get("text", ""), blocks=self._replaced[e["id"]].get("blocks"))
        return sorted(out, key=lambda e: e["time"])

    def state(self) -> dict:
        top = self.slack.messages(self.channel)
        threads = {m["ts"]: self.slack.messages(self.channel, m["ts"]) for m in top if m.get("reply_count")}
        members = {s[0] for s in STAFF if s[6]}
        users = {}
        for uid, u in dict(self.slack.users).items():
            p = u.get("profile", {})
            users[uid] = {"name": p.get("display_name") or u.get("real_name") or u["name"],
                          "real_name": u.get("real_name", ""), "image": p.get("image_48", ""),
                          "bot": u.get("is_bot", False), "member": uid in members, "admin": uid == SANDBOX_ADMIN}
        ephemerals = self._ephemerals()
        # What the app tells someone in its DM (e.g. a refusal a non-member cannot get as an ephemeral).
        for uid in (s[0] for s in STAFF):
            ephemerals += [{"id": f"dm-{m['ts']}", "user": uid, "text": m.get("text", ""), "blocks": m.get("blocks"),
                            "thread_ts": None, "time": float(m["ts"]), "dm": True}
                           for m in self.slack.messages(self.slack.dm_channel(uid))]
        blob = json.dumps([top, threads, ephemerals], ensure_ascii=False)
        names = set(_SHORTCODE.findall(blob)) | {r for r, _ in self.reactions}
        names |= {r["name"] for m in top + [r for rs in threads.values() for r in rs] for r in m.get("reactions", ())}
        emoji = {n: e for n in names if (e := unicode_emoji(n))}
        return {"channel": {"id": self.channel, "name": self.slack.channels[self.channel]["name"]},
                "team_domain": self.slack.team_domain, "users": users,
                "staff": [s[0] for s in STAFF], "messages": top, "modals": self._modals(), "threads": threads, "ephemerals": ephemerals,
                "emoji": emoji, "reactions": [{"name": n, "does": d} for n, d in self.reactions]}
