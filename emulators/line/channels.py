"""Several Messaging API channels (LINE Official Accounts) in one emulator.

Each API request is attributed to the channel whose channel access token it carries
(:attr:`RecordedRequest.channel`, :attr:`Delivery.channel`); a token no channel has is
answered 401 like LINE. Channels are identified by their bot user id, the ``userId`` of
``GET /v2/bot/info`` and the ``destination`` of their webhooks.

Mixed into :class:`emulators.line.core.LineEmulator`.
"""
from __future__ import annotations

from emulators.line.wire import Channel, Delivery


class ChannelsMixin:
    """Channel registry; the constructor's token/secret form :attr:`default_channel`."""

    def set_webhook_endpoint(self, url: str, active: bool = True, channel: str | None = None) -> None:
        """What the LINE console shows as the webhook URL and its "Use webhook" switch."""
        with self._lock:
            ch = self.channel(channel)
            ch.webhook_endpoint, ch.webhook_active = url, active

    def add_channel(self, bot_user_id: str, channel_secret: str, access_token: str, display_name: str = "",
                    basic_id: str = "") -> Channel:
        """Register another LINE Official Account; returns its :class:`Channel`.

        Friends registered with :meth:`add_user` without ``channel`` are friends of every
        channel; pass ``channel=`` to make a user the friend of given accounts only (the same
        user id may be a friend of several).
        """
        with self._lock:
            for other in self._channels.values():
                if other.access_token == access_token and other.bot_user_id != bot_user_id:
                    raise ValueError(f"access token already used by channel {other.bot_user_id}")
            channel = Channel(bot_user_id, channel_secret, access_token, display_name or bot_user_id,
                              basic_id or "@" + bot_user_id[1:9].lower())
            self._channels[bot_user_id] = channel
        return channel

    def channel(self, bot_user_id: str | None = None) -> Channel:
        """The channel with that bot user id (default: :attr:`default_channel`); KeyError if unknown."""
        if bot_user_id is None:
            return self.default_channel
        with self._lock:
            return self._channels[bot_user_id]

    @property
    def channels(self) -> list[Channel]:
        """Every registered channel, the default one first."""
        with self._lock:
            return list(self._channels.values())

    def _channel_for_token(self, token: str) -> Channel | None:
        with self._lock:
            for channel in self._channels.values():
                if channel.access_token == token:
                    return channel
        return None

    def _channel_id(self, channel: str | None) -> str:
        """``channel`` checked against the registry, or the default channel's bot user id."""
        if channel is None:
            return self.default_channel.bot_user_id
        if channel not in self._channels:
            raise KeyError(f"unknown channel {channel!r}; register it with add_channel()")
        return channel

    def deliveries_for(self, bot_user_id: str) -> list[Delivery]:
        """Deliveries sent by one channel, in order."""
        with self._lock:
            return [d for d in self.deliveries if d.channel == bot_user_id]

    # ------------------------------------------------- the default channel, as attributes
    @property
    def channel_access_token(self) -> str:
        return self.default_channel.access_token

    @channel_access_token.setter
    def channel_access_token(self, value: str) -> None:
        self.default_channel.access_token = value

    @property
    def channel_secret(self) -> str:
        return self.default_channel.channel_secret

    @channel_secret.setter
    def channel_secret(self, value: str) -> None:
        self.default_channel.channel_secret = value

    @property
    def bot_user_id(self) -> str:
        return self.default_channel.bot_user_id

    @bot_user_id.setter
    def bot_user_id(self, value: str) -> None:
        with self._lock:
            self._channels.pop(self.default_channel.bot_user_id, None)
            self.default_channel.bot_user_id = value
            self._channels = {value: self.default_channel, **self._channels}

    @property
    def bot_display_name(self) -> str:
        return self.default_channel.display_name

    @bot_display_name.setter
    def bot_display_name(self, value: str) -> None:
        self.default_channel.display_name = value
