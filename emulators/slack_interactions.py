"""Slack interactivity as Slack sends it: slash commands, block actions, shortcuts, view submissions.

Mixed into :class:`emulators.slack_events.SlackEventSender` (signing, ids and the stored
messages come from there).
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import requests


class InteractionsMixin:
    def command(
        self,
        command: str,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        user_name: str | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """Invoke a slash command (form-encoded, as Slack posts it). Replies to its ``response_url``
        land in ``emulator.responses`` (and ephemerals / channel messages)."""
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or self._user_name(user_id),
            "command": command if command.startswith("/") else f"/{command}",
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._new_response_url(channel=channel_id, user=user_id),
            "trigger_id": trigger_id or self._new_trigger_id(),
        }
        return self.post_signed(urlencode(fields).encode(), "application/x-www-form-urlencoded",
                                timestamp=timestamp, signature=signature)

    # ------------------------------------------------------------------ interactivity
    def _post_payload(self, payload: dict[str, Any], *, timestamp: int | None = None,
                      signature: str | None = None) -> requests.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post_signed(body, "application/x-www-form-urlencoded", timestamp=timestamp,
                                signature=signature)

    @staticmethod
    def _find_element(message: dict[str, Any], action_id: str) -> tuple[str | None, dict[str, Any] | None]:
        for block in message.get("blocks") or []:
            candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
            if isinstance(block.get("accessory"), dict):
                candidates.append(block["accessory"])
            for el in candidates:
                if isinstance(el, dict) and el.get("action_id") == action_id:
                    return block.get("block_id"), el
        return None, None

    def block_action(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        selected_option: dict[str, Any] | str | None = None,
        selected_user: str | None = None,
        block_id: str | None = None,
        thread_ts: str | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """A user clicks a button / picks an option in a message: a ``block_actions`` payload.

        The element (type, text, block_id) is looked up in the stored message's blocks when possible.
        """
        message = self._stored_message(channel_id, message_ts) or {"type": "message", "ts": message_ts, "text": ""}
        found_block_id, element = self._find_element(message, action_id)
        action_ts = self._new_ts()
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id or found_block_id or "b0",
                                  "action_ts": action_ts}
        if selected_option is not None:
            opt = selected_option if isinstance(selected_option, dict) else {
                "text": {"type": "plain_text", "text": str(selected_option), "emoji": True},
                "value": str(selected_option)}
            action.update({"type": (element or {}).get("type", "static_select"), "selected_option": opt})
        elif selected_user is not None:
            action.update({"type": (element or {}).get("type", "users_select"), "selected_user": selected_user})
        else:
            action["type"] = (element or {}).get("type", "button")
            action["text"] = (element or {}).get("text", {"type": "plain_text", "text": action_id, "emoji": True})
            val = value if value is not None else (element or {}).get("value")
            if val is not None:
                action["value"] = val
            if (element or {}).get("style"):
                action["style"] = element["style"]  # type: ignore[index]
        container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                                     "is_ephemeral": False}
        thread = thread_ts or message.get("thread_ts")
        if thread:
            container["thread_ts"] = thread
        payload = {
            "type": "block_actions",
            "user": self._user_obj(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": trigger_id or self._new_trigger_id(),
            "team": self._team_obj(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "message": message,
            "state": {"values": {}},
            "response_url": self._new_response_url(channel=channel_id, user=user_id, message_ts=message_ts),
            "actions": [action],
        }
        return self._post_payload(payload, timestamp=timestamp, signature=signature)

    def view_block_action(self, user_id: str, view: dict[str, Any], action_id: str, value: str | None = None, *,
                          block_id: str | None = None, timestamp: int | None = None,
                          signature: str | None = None) -> requests.Response:
        """A user clicks a button inside an open modal: a ``block_actions`` payload whose container is the
        view (``{"type": "view", "view_id"}``) and which carries the view itself, with no channel, message
        or response_url (Slack sends none for a modal). Its trigger_id may push a view on top of that modal.
        """
        found_block_id, element = self._find_element(view, action_id)
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id or found_block_id or "b0",
                                  "action_ts": self._new_ts(), "type": (element or {}).get("type", "button"),
                                  "text": (element or {}).get("text", {"type": "plain_text", "text": action_id,
                                                                       "emoji": True})}
        val = value if value is not None else (element or {}).get("value")
        if val is not None:
            action["value"] = val
        full_view = {k: v for k, v in view.items() if not k.startswith("_")}
        full_view.setdefault("state", {"values": {}})
        trigger_id = self._new_trigger_id(view_id=view.get("id"))
        payload = {
            "type": "block_actions",
            "user": self._user_obj(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": {"type": "view", "view_id": view.get("id")},
            "trigger_id": trigger_id,
            "team": self._team_obj(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": full_view,
            "actions": [action],
        }
        return self._post_payload(payload, timestamp=timestamp, signature=signature)

    def message_shortcut(self, callback_id: str, user_id: str, channel_id: str, message_ts: str,
                         trigger_id: str | None = None) -> requests.Response:
        """A user runs a message shortcut on a message: a ``message_action`` payload."""
        message = self._stored_message(channel_id, message_ts) or {"type": "message", "ts": message_ts, "text": ""}
        payload = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": self._new_ts(),
            "team": self._team_obj(),
            "user": self._user_obj(user_id),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "is_enterprise_install": False,
            "enterprise": None,
            "api_app_id": self.api_app_id,
            "callback_id": callback_id,
            "trigger_id": trigger_id or self._new_trigger_id(),
            "response_url": self._new_response_url(channel=channel_id, user=user_id),
            "message_ts": message_ts,
            "message": message,
        }
        return self._post_payload(payload)

    def view_submission(self, user_id: str, view: dict[str, Any], values: dict[str, Any],
                        callback_id: str | None = None, private_metadata: str = "") -> requests.Response:
        """A user submits a modal: a ``view_submission`` payload.

        ``view`` is the view as opened (e.g. ``emulator.views[view_id]`` or the ``views.open``
        response's ``view``). ``values`` is ``{block_id: {action_id: state}}``; a plain string state
        is wrapped as a ``plain_text_input`` value. A ``file_input`` state is
        ``{"type": "file_input", "files": [...]}`` whose entries may be stored file ids, ``{"id"}``
        or ``{"name", "content", "mimetype"?}`` to upload as the submitting user: the payload
        carries full Slack file objects (id, name, mimetype, filetype, size, url_private…), as
        Slack sends them.
        """
        state: dict[str, dict[str, Any]] = {}
        for bid, actions in values.items():
            state[bid] = {}
            for aid, v in actions.items():
                v = v if isinstance(v, dict) else {"type": "plain_text_input", "value": v}
                if v.get("type") == "file_input":
                    v = self._file_input_state(view, bid, aid, v, user_id)
                state[bid][aid] = v
        full_view = {k: v for k, v in view.items() if not k.startswith("_")}
        full_view.setdefault("id", f"V{secrets.token_hex(5).upper()}")
        full_view.setdefault("team_id", self.team_id)
        full_view.setdefault("type", "modal")
        full_view.setdefault("app_id", self.api_app_id)
        full_view.setdefault("hash", f"{int(time.time())}.{secrets.token_hex(4)}")
        full_view.setdefault("root_view_id", full_view["id"])
        full_view["state"] = {"values": state}
        if callback_id is not None:
            full_view["callback_id"] = callback_id
        full_view.setdefault("callback_id", "")
        if private_metadata or "private_metadata" not in full_view:
            full_view["private_metadata"] = private_metadata
        payload = {
            "type": "view_submission",
            "team": self._team_obj(),
            "user": self._user_obj(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self._new_trigger_id(),
            "view": full_view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload)

    #: "There is a 10MB file size limit" (file input element reference)
    FILE_INPUT_MAX_BYTES = 10 * 1024 * 1024

    def _file_input_state(self, view: dict[str, Any], block_id: str, action_id: str, state: dict[str, Any],
                          user_id: str) -> dict[str, Any]:
        """The state of a ``file_input``: the files uploaded in the modal, as full file objects.

        What Slack's client does not let a user submit raises ValueError: an element that is not a
        ``file_input`` of this view, more files than ``max_files``, a file over 10 MB, or a name
        whose extension is not in ``filetypes``. (Slack calls ``filetypes`` "for convenience only":
        what the file really contains, and its mimetype, are the app's to check.)
        """
        element = next((b.get("element") for b in view.get("blocks") or []
                        if b.get("type") == "input" and b.get("block_id") == block_id
                        and (b.get("element") or {}).get("action_id") == action_id), None)
        if not element or element.get("type") != "file_input":
            raise ValueError(f"no file_input {block_id}/{action_id} in this view")
        files = []
        for f in self._prepare_files(list(state.get("files") or []), user_id):
            if self.emulator is not None and not (isinstance(f, dict) and "url_private" in f):
                f = self.emulator._resolve_file(f)
            files.append(f)
        if len(files) > int(element.get("max_files") or 10):
            raise ValueError(f"{len(files)} files, max_files is {element.get('max_files')}")
        for f in files:
            if int(f.get("size") or 0) > self.FILE_INPUT_MAX_BYTES:
                raise ValueError(f"{f.get('name')}: over the file_input limit of 10 MB")
            ext = str(f.get("name") or "").rsplit(".", 1)[-1].lower()
            if element.get("filetypes") and ext not in element["filetypes"]:
                raise ValueError(f"{f.get('name')}: not one of {element['filetypes']}")
        return {"type": "file_input", "files": files}
