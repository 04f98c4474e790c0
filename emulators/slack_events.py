"""Send correctly signed Slack requests (Events API, slash commands, interactivity) to the bridge.

The payloads follow what Slack itself sends, so the bridge's slack-bolt app (Flask adapter,
``slack_sdk.signature.SignatureVerifier``) accepts them unmodified:

* Events API: a JSON ``event_callback`` envelope.
  https://docs.slack.dev/apis/events-api/#callback-field
* Slash commands: ``application/x-www-form-urlencoded`` fields.
  https://docs.slack.dev/interactivity/implementing-slash-commands#app_command_handling
* Interactivity: form-encoded ``payload=<json>``.
  https://docs.slack.dev/reference/interaction-payloads
* Signing: ``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:<timestamp>:<raw body>"))`` plus
  ``X-Slack-Request-Timestamp``; receivers reject timestamps older than 5 minutes.
  https://docs.slack.dev/authentication/verifying-requests-from-slack

When a :class:`~emulators.slack_api.SlackEmulator` is given (or the URL of one running in another
process, ``emulator_url=``), human actions are also stored there first, so that
``conversations.history``, ``chat.getPermalink``, ``reactions.get`` ... see them, and
``response_url``\\s point at the emulator (``emulator.responses``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from typing import Any

import requests

from emulators.slack_api import SlackEmulator, rich_text_blocks

__all__ = ["sign", "SlackEventSender"]

_FALLBACK_EMULATOR_URL = "http://slack-emulator.invalid"

from emulators.slack_interactions import InteractionsMixin  # noqa: E402


def sign(signing_secret: str, timestamp: int, body: bytes) -> str:
    """Slack request signature: ``"v0=" + hex(HMAC-SHA256(secret, b"v0:<timestamp>:" + body))``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackEventSender(InteractionsMixin):
    """Plays "Slack" towards the bridge's request URL.

    Args:
        bridge_url: full URL of the bridge endpoint, e.g. ``http://127.0.0.1:5000/slack/events``.
        emulator: in-process emulator to store human messages/reactions in (optional).
        signing_secret / team_id: default to the emulator's values, else ``"test-signing-secret"`` /
            ``"T0TEST"``.
        api_app_id: the app id put in payloads.
        emulator_url: base URL of an emulator in another process (uses its ``/_emulator/*`` control
            endpoints); also used for ``response_url``\\s. Defaults to ``emulator.url``.
        timeout: HTTP timeout for requests to the bridge.
    """

    def __init__(
        self,
        bridge_url: str,
        emulator: SlackEmulator | None = None,
        signing_secret: str | None = None,
        team_id: str | None = None,
        api_app_id: str = "A0TEST",
        *,
        emulator_url: str | None = None,
        team_domain: str | None = None,
        verification_token: str = "legacy-verification-token",
        timeout: float = 10.0,
    ) -> None:
        self.bridge_url = bridge_url
        self.emulator = emulator
        self.signing_secret = signing_secret or (emulator.signing_secret if emulator else "test-signing-secret")
        self.team_id = team_id or (emulator.team_id if emulator else "T0TEST")
        self.team_domain = team_domain or (emulator.team_domain if emulator else "testteam")
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self.timeout = timeout
        self._emulator_url = emulator_url.rstrip("/") if emulator_url else None
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._last_ts = 0

    # ------------------------------------------------------------------ low level
    @property
    def emulator_url(self) -> str | None:
        """Base URL of the emulator (explicit, or learned by the in-process emulator)."""
        if self._emulator_url:
            return self._emulator_url
        return self.emulator.url.rstrip("/") if self.emulator is not None and self.emulator.url else None

    @property
    def bot_user_id(self) -> str:
        return self.emulator.bot_user_id if self.emulator is not None else "UBOT"

    def post_signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """POST a raw body to the bridge with Slack's signature headers (override for negative tests)."""
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature if signature is not None else sign(self.signing_secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        all_headers.update(headers or {})
        return self._session.post(self.bridge_url, data=body, headers=all_headers, timeout=self.timeout)

    def _new_ts(self) -> str:
        if self.emulator is not None:
            return self.emulator.new_ts()
        with self._lock:
            now = time.time_ns() // 1000
            self._last_ts = now if now > self._last_ts else self._last_ts + 1
            return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _new_trigger_id(self, view_id: str | None = None) -> str:
        """``view_id``: the modal the interaction happened in (views.push stacks on it)."""
        # Real trigger ids look like "13345224609.738474920.8088930838d88f008e0".
        trigger_id = f"{int(time.time() * 1000)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        if self.emulator is not None:
            self.emulator.register_trigger_id(trigger_id, view_id=view_id)
        return trigger_id

    def _new_response_url(self, **context: Any) -> str:
        rid = f"{self.team_id}-{next(self._counter)}-{secrets.token_hex(8)}"
        if self.emulator is not None:
            self.emulator.register_response_url(rid, **context)
        base = self.emulator_url or _FALLBACK_EMULATOR_URL
        return f"{base}/_emulator/response_url/{rid}"

    def _channel_info(self, channel: str) -> dict[str, Any] | None:
        if self.emulator is not None:
            return self.emulator.channels.get(channel)
        return None

    def _channel_type(self, channel: str) -> str:
        info = self._channel_info(channel)
        if info is not None:
            return "im" if info["is_im"] else "group" if info["is_private"] else "channel"
        return {"D": "im", "G": "group"}.get(channel[:1], "channel")

    def _channel_name(self, channel: str) -> str:
        info = self._channel_info(channel)
        if info is not None:
            return info["name"]
        # Slash commands from DMs / private channels carry these pseudo names.
        return {"D": "directmessage", "G": "privategroup"}.get(channel[:1], channel.lower())

    def _user_name(self, user_id: str) -> str:
        if self.emulator is not None and user_id in self.emulator.users:
            return self.emulator.users[user_id]["name"]
        return user_id.lower()

    def _user_obj(self, user_id: str, user_name: str | None = None) -> dict[str, Any]:
        name = user_name or self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team_obj(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    def _stored_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        if self.emulator is not None:
            return self.emulator.message(channel, ts)
        if self._emulator_url:
            r = self._session.get(f"{self._emulator_url}/_emulator/message", params={"channel": channel, "ts": ts},
                                  timeout=self.timeout)
            if r.ok:
                return r.json().get("message")
        return None

    # ------------------------------------------------------------------ Events API
    def send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """Deliver ``event`` in an ``event_callback`` envelope.

        ``retry_num`` adds ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` as Slack does when it
        redelivers (pass the same ``event_id`` as the first delivery). ``timestamp``/``signature``
        override the signing headers for negative tests.
        """
        event_time = int(time.time())
        envelope = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + base64.urlsafe_b64encode(json.dumps(
                {"et": event.get("type"), "tid": self.team_id, "aid": self.api_app_id,
                 "cid": event.get("channel") or (event.get("item") or {}).get("channel")}).encode()).decode(),
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(envelope).encode()
        return self.post_signed(body, "application/json", timestamp=timestamp, signature=signature,
                                headers=headers)

    def url_verification(self, challenge: str = "challenge-token") -> requests.Response:
        """The ``url_verification`` handshake Slack sends when the request URL is configured."""
        body = json.dumps({"token": self.verification_token, "challenge": challenge,
                           "type": "url_verification"}).encode()
        return self.post_signed(body, "application/json")

    def _prepare_files(self, files: list[Any], user: str) -> list[Any]:
        """Files may be Slack file objects, stored file ids, or ``{"name", "content"[, ...]}`` to upload."""
        out: list[Any] = []
        for f in files:
            if not (isinstance(f, dict) and "content" in f):
                out.append(f)  # a file object, or a stored file's id / {"id"} (the emulator expands it)
                continue
            content = f["content"].encode() if isinstance(f["content"], str) else bytes(f["content"])
            name = f.get("name", "file.bin")
            if self.emulator is not None:
                out.append(self.emulator.add_file(content, name, title=f.get("title"), mimetype=f.get("mimetype"),
                                                  user=user))
            elif self._emulator_url:
                r = self._session.post(f"{self._emulator_url}/_emulator/files", timeout=self.timeout, json={
                    "name": name, "content_b64": base64.b64encode(content).decode(), "title": f.get("title"),
                    "mimetype": f.get("mimetype"), "user": user})
                r.raise_for_status()
                out.append(r.json()["file"])
            else:
                raise ValueError("uploading file content needs an emulator (emulator= or emulator_url=)")
        return out

    def user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        subtype: str | None = None,
        files: list[Any] | None = None,
        **kw: Any,
    ) -> tuple[dict[str, Any], requests.Response]:
        """A human posts ``text``: store it in the emulator and send the ``message`` event.

        ``files`` entries are Slack file objects, ids of files already stored in the emulator
        (``"F…"`` or ``{"id": "F…"}``, e.g. from ``files_upload_v2``: expanded to the full file
        object), or ``{"name", "content"[, "mimetype", "title"]}`` dicts which are stored in the
        emulator first (downloadable from their ``url_private`` with the bot token); with files the
        subtype defaults to ``file_share``. Extra ``kw`` (e.g. ``event_id``,
        ``retry_num``, ``timestamp``, ``signature``) go to :meth:`send_event`; ``extra={...}``
        adds fields to the message/event.
        Returns ``(stored message, response)``.
        """
        send_kw = {k: kw.pop(k) for k in ("event_id", "retry_num", "retry_reason", "timestamp", "signature")
                   if k in kw}
        extra: dict[str, Any] = dict(kw.pop("extra", None) or {})
        extra.update(kw)
        prepared = self._prepare_files(files, user) if files else None
        if prepared and subtype is None:
            subtype = "file_share"
        if self.emulator is not None:
            msg = self.emulator.add_user_message(channel, user, text, thread_ts=thread_ts, subtype=subtype,
                                                 files=prepared, extra=extra or None)
        elif self._emulator_url:
            r = self._session.post(f"{self._emulator_url}/_emulator/messages", timeout=self.timeout,
                                   json={"channel": channel, "user": user, "text": text, "thread_ts": thread_ts,
                                         "subtype": subtype, "files": prepared, "extra": extra or None})
            r.raise_for_status()
            msg = r.json()["message"]
        else:
            msg = {"type": "message", "user": user, "text": text, "ts": self._new_ts(), "team": self.team_id,
                   "blocks": rich_text_blocks(text)}
            if subtype:
                msg["subtype"] = subtype
            if subtype is None or subtype == "file_share":
                msg["client_msg_id"] = secrets.token_hex(16)
            if thread_ts:
                msg["thread_ts"] = thread_ts
            if prepared:
                msg["files"] = prepared
            msg.update(extra)
        event = {k: v for k, v in msg.items()
                 if k not in ("reply_count", "reply_users", "reply_users_count", "latest_reply", "reactions")}
        event["channel"] = channel
        event["event_ts"] = msg["ts"]
        event["channel_type"] = self._channel_type(channel)
        return msg, self.send_event(event, **send_kw)

    def reaction(self, user: str, channel: str, ts: str, name: str, *, removed: bool = False,
                 item_user: str | None = None, **send_kw: Any) -> requests.Response:
        """A human adds (or removes) a reaction: store it and send ``reaction_added``/``reaction_removed``."""
        author = item_user
        if self.emulator is not None:
            if removed:
                self.emulator.remove_reaction(channel, ts, name, user)
            else:
                self.emulator.add_reaction(channel, ts, name, user)
            stored = self.emulator.message(channel, ts)
            author = author or (stored or {}).get("user")
        elif self._emulator_url:
            r = self._session.post(f"{self._emulator_url}/_emulator/reactions", timeout=self.timeout,
                                   json={"channel": channel, "ts": ts, "name": name, "user": user, "removed": removed})
            r.raise_for_status()
            author = author or r.json().get("item_user")
        event: dict[str, Any] = {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self._new_ts(),
        }
        if author:
            event["item_user"] = author
        return self.send_event(event, **send_kw)

    # ------------------------------------------------------------------ slash commands
