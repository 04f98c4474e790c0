"""Sending messages: reply, push, multicast, validate; reply tokens, retry keys, quota.

Mixed into :class:`emulators.line.core.LineEmulator`.
"""
from __future__ import annotations

import copy
import secrets
import time

from emulators.line.wire import (
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_RETRY_KEY_ACCEPTED,
    Delivery,
    RecordedRequest,
    _error,
    _Reply,
)


class MessagingMixin:
    """Reply / push / multicast / validate handlers and their state helpers."""

    def issue_reply_token(self, source_id: str, channel: str | None = None) -> str:
        """Register a fresh single-use reply token for a chat (user, group or room id).

        The token is only valid for ``channel`` (bot user id; default channel if None): a
        webhook's reply token belongs to the account that received the event.
        """
        token = secrets.token_hex(16)
        with self._lock:
            self._reply_tokens[token] = (source_id, time.monotonic(), self._channel_id(channel))
        return token

    def expire_reply_tokens(self) -> None:
        """Make every reply token issued so far stale."""
        with self._lock:
            for token, (source, _issued, channel) in list(self._reply_tokens.items()):
                self._reply_tokens[token] = (source, float("-inf"), channel)

    def set_monthly_quota(self, n: int | None, channel: str | None = None) -> None:
        """Limit a channel's push/multicast messages for the "month" (``None`` = unlimited).

        Counted like LINE does: one per recipient that actually receives it; replies
        are free (https://developers.line.biz/en/docs/messaging-api/pricing/). Each
        channel (default: the default one) has its own quota and usage.
        """
        with self._lock:
            channel_id = self._channel_id(channel)
            if n is None:
                self._quota.pop(channel_id, None)
            else:
                self._quota[channel_id] = n

    @property
    def monthly_usage(self) -> int:
        """The default channel's push/multicast messages counted against its quota so far."""
        return self.usage_of(None)

    def usage_of(self, channel: str | None) -> int:
        """A channel's (default: the default channel's) messages counted this month."""
        return self._usage.get(self._channel_id(channel), 0)

    def delivered_texts(self, to: str | None = None, channel: str | None = None) -> list[str]:
        """Texts of delivered ``text``/``textV2`` messages, in order; optionally only those
        to one chat and/or sent by one channel (bot user id)."""
        with self._lock:
            deliveries = list(self.deliveries)
        return [m["text"] for d in deliveries
                if (to is None or to in d.to) and (channel is None or d.channel == channel)
                for m in d.messages if m.get("type") in ("text", "textV2") and "text" in m]

    def _sent_messages(self, messages: list[dict]) -> list[dict]:
        out = []
        for m in messages:
            self._message_seq += 1
            sent = {"id": str(self._message_seq)}
            # quoteToken: "Only included when a message object that can be specified as a
            # quote target was sent" (text, sticker, image, video, ... not template/flex).
            if m.get("type") in ("text", "textV2", "sticker", "image", "video", "audio", "location"):
                sent["quoteToken"] = secrets.token_urlsafe(48)
            out.append(sent)
        return out

    def _deliver(self, via: str, to: list[str], messages: list[dict], retry_key: str | None,
                 record: RecordedRequest) -> list[dict]:
        sent = self._sent_messages(messages)
        if to:
            self.deliveries.append(Delivery(via, list(to), copy.deepcopy(messages), retry_key,
                                            record.request_id, time.time(), record.channel))
        if retry_key is not None:
            self._retry_keys[(record.channel, retry_key)] = (record.request_id, sent)
        return sent

    def _check_retry_key(self, retry_key: str | None, channel: str) -> None:
        if retry_key is not None and (channel, retry_key) in self._retry_keys:
            accepted_id, sent = self._retry_keys[(channel, retry_key)]
            # https://developers.line.biz/en/reference/messaging-api/#retry-api-request
            raise _Reply(409, {"message": MSG_RETRY_KEY_ACCEPTED, "sentMessages": sent},
                         {"x-line-accepted-request-id": accepted_id}, errors=[MSG_RETRY_KEY_ACCEPTED])

    def _count(self, channel: str, count: int) -> None:
        """Charge ``count`` messages to ``channel``'s quota, or refuse with 429."""
        quota = self._quota.get(channel)
        usage = self._usage.get(channel, 0)
        if quota is not None and usage + count > quota:
            raise _error(429, MSG_MONTHLY_LIMIT)
        self._usage[channel] = usage + count

    def _h_reply(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        token = body["replyToken"]
        with self._lock:
            entry = self._reply_tokens.get(token)
            if (entry is None or token in self._used_reply_tokens or entry[2] != record.channel
                    or time.monotonic() - entry[1] > self.reply_token_ttl):
                raise _error(400, MSG_INVALID_REPLY_TOKEN)
            self._used_reply_tokens.add(token)
            source = entry[0]
            to = [] if source in self._users and self._users[source].blocked else [source]
            sent = self._deliver("reply", to, body["messages"], None, record)
        return _Reply(200, {"sentMessages": sent})

    def _push_recipients(self, to: str, channel: str) -> tuple[list[str], int]:
        """(chats that receive it, messages counted) for a push to ``to`` by ``channel``."""
        user = self._users.get(to)
        if user is not None and user.friend_of(channel):
            if user.blocked:
                if self.reject_push_to_blocked:
                    raise _error(400, MSG_FAILED_TO_SEND)
                return [], 0
            return [to], 1
        chat = self._chats.get(to)
        if chat is not None:
            # counted per member who receives it (FAQ "How are messages counted?")
            return [to], max(1, len(chat.members))
        # FAQ: "If a message is sent to a user ID that doesn't exist, this error will be
        # returned with status code 400: Failed to send messages"
        raise _error(400, MSG_FAILED_TO_SEND)

    def _h_push(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            self._check_retry_key(retry_key, record.channel)
            recipients, count = self._push_recipients(body["to"], record.channel)
            self._count(record.channel, count)
            sent = self._deliver("push", recipients, body["messages"], retry_key, record)
        return _Reply(200, {"sentMessages": sent})

    def _h_multicast(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            self._check_retry_key(retry_key, record.channel)
            # unknown / blocked ids (and users who are not this account's friends) are
            # silently skipped and not counted (FAQ)
            recipients = [u for u in dict.fromkeys(body["to"])
                          if u in self._users and not self._users[u].blocked
                          and self._users[u].friend_of(record.channel)]
            self._count(record.channel, len(recipients))
            self._deliver("multicast", recipients, body["messages"], retry_key, record)
        return _Reply(200, {})

    def _h_validate(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {})
