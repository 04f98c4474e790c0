"""The bot itself: bot info, message quota and consumption.

Mixed into :class:`emulators.line.core.LineEmulator`.
"""
from __future__ import annotations

from typing import Any

from emulators.line.wire import RecordedRequest, _Reply


class BotMixin:
    """Bot-level handlers."""

    def _h_bot_info(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"userId": self.bot_user_id, "basicId": "@000emul", "displayName": self.bot_display_name,
                            "chatMode": "bot", "markAsReadMode": "manual"})

    def _h_quota(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        if self._quota is None:
            return _Reply(200, {"type": "none"})
        return _Reply(200, {"type": "limited", "value": self._quota})

    def _h_quota_consumption(self, params: dict, body: Any, retry_key: str | None,
                             record: RecordedRequest) -> _Reply:
        return _Reply(200, {"totalUsage": self._usage})
