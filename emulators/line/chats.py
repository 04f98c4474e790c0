"""Friends, groups and rooms: profiles, member lists, mark-as-read, loading animation.

Mixed into :class:`emulators.line.core.LineEmulator`.
"""
from __future__ import annotations

import secrets
from typing import Any

from emulators.line.wire import MSG_NOT_FOUND, RecordedRequest, _Chat, _error, _Reply, _User


class ChatsMixin:
    """Friend / group / room registration and the chat-related handlers."""

    def add_user(self, user_id: str, display_name: str, picture_url: str | None = None,
                 status_message: str | None = None, language: str = "ja", channel: str | None = None) -> None:
        """Register a friend (pushable, profile available).

        Without ``channel`` the user is a friend of every channel. With ``channel`` (a bot
        user id from :meth:`add_channel`) of that account only; call again with another
        channel to share the friend between accounts (user ids are per provider, so the
        same id in two accounts of one provider is normal). For other channels the user
        is unknown: push 400, profile 404, skipped by multicast.
        """
        with self._lock:
            previous = self._users.get(user_id)
            if channel is None:
                channels = None
            else:
                channel = self._channel_id(channel)
                if previous is not None and previous.channels is None:
                    channels = None  # already a friend of every channel
                else:
                    channels = (set(previous.channels) if previous is not None else set()) | {channel}
            self._users[user_id] = _User(user_id, display_name, picture_url, status_message, language,
                                         channels=channels)

    def add_group(self, group_id: str, name: str, picture_url: str | None = None,
                  members: dict[str, str] | None = None) -> None:
        """Register a group chat the bot is in; ``members`` maps user id -> display name."""
        with self._lock:
            self._chats[group_id] = _Chat(group_id, "group", name, picture_url, dict(members or {}))

    def add_room(self, room_id: str, members: dict[str, str]) -> None:
        """Register a multi-person chat (room) the bot is in."""
        with self._lock:
            self._chats[room_id] = _Chat(room_id, "room", None, None, dict(members))

    def block(self, user_id: str) -> None:
        """The friend blocked the account.

        Pushes/multicasts to them answer 200 but deliver nothing and are not counted
        (LINE FAQ); set :attr:`reject_push_to_blocked` to get a 400 instead. Their
        profile answers 404 like the real API.
        """
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                user = self._users[user_id] = _User(user_id, user_id, None, None, "ja")
            user.blocked = True

    def unblock(self, user_id: str) -> None:
        """Undo :meth:`block`."""
        with self._lock:
            if user_id in self._users:
                self._users[user_id].blocked = False

    def issue_mark_as_read_token(self, chat_id: str) -> str:
        """Register a ``markAsReadToken`` (as carried by message webhook events)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._mark_as_read_tokens[token] = chat_id
        return token

    def _h_profile(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            user = self._users.get(params["userId"])
        if user is None or user.blocked or not user.friend_of(record.channel):
            raise _error(404, MSG_NOT_FOUND)
        out: dict[str, Any] = {"userId": user.user_id, "displayName": user.display_name, "language": user.language}
        if user.picture_url:
            out["pictureUrl"] = user.picture_url
        if user.status_message:
            out["statusMessage"] = user.status_message
        return _Reply(200, out)

    def _chat(self, params: dict) -> _Chat:
        chat_id = params.get("groupId") or params.get("roomId") or ""
        with self._lock:
            chat = self._chats.get(chat_id)
        if chat is None:
            raise _error(404, MSG_NOT_FOUND)
        return chat

    def _h_group_summary(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        chat = self._chat(params)
        out = {"groupId": chat.chat_id, "groupName": chat.name or ""}
        if chat.picture_url:
            out["pictureUrl"] = chat.picture_url
        return _Reply(200, out)

    def _h_member_profile(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        chat = self._chat(params)
        user_id = params["userId"]
        if user_id not in chat.members:
            raise _error(404, MSG_NOT_FOUND)
        out = {"userId": user_id, "displayName": chat.members[user_id]}
        user = self._users.get(user_id)
        if user is not None and user.picture_url:
            out["pictureUrl"] = user.picture_url
        return _Reply(200, out)

    def _h_member_count(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"count": len(self._chat(params).members)})

    def _h_member_ids(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"memberIds": list(self._chat(params).members)[:100]})

    def _h_mark_read(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            self.marked_as_read.append(body["chat"]["userId"])
        return _Reply(200, {})

    def _h_mark_read_token(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            chat_id = self._mark_as_read_tokens.get(body["markAsReadToken"])
            if chat_id is None:
                # spec: "400: An invalid markAsReadToken is specified"
                raise _error(400, "Invalid markAsReadToken")  # approximation of the wording
            self.marked_as_read.append(chat_id)
        return _Reply(200, {})

    def _h_loading(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        chat_id = body["chatId"]
        seconds = body.get("loadingSeconds", 20)  # default 20 per the reference
        # "You can only specify the user ID of a one-on-one chat" - group/room ids are 400
        with self._lock:
            user = self._users.get(chat_id)
            if user is None or user.blocked or not user.friend_of(record.channel):
                raise _error(400, "The request body has 1 error(s)",
                             [{"message": "Invalid chatId", "property": "chatId"}])  # approximation
            self.loading_animations.append((chat_id, seconds))
        return _Reply(202, {})
