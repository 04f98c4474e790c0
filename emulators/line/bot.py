"""The bot itself: bot info, message quota and consumption, webhook endpoint settings.

Mixed into :class:`emulators.line.core.LineEmulator`. Every answer is about the channel
whose access token the request carries (:attr:`RecordedRequest.channel`).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from emulators.line.wire import MSG_NOT_FOUND, RecordedRequest, _error, _Reply

#: ``reason`` values of ``POST /v2/bot/channel/webhook/test``
#: (https://developers.line.biz/en/reference/messaging-api/#test-webhook-endpoint-response)
REASON_OK = "OK"
REASON_COULD_NOT_CONNECT = "COULD_NOT_CONNECT"
REASON_REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
REASON_ERROR_STATUS_CODE = "ERROR_STATUS_CODE"
MSG_WEBHOOK_NOT_SET = "The webhook endpoint URL is not set"  # approximation


class BotMixin:
    """Bot-level handlers."""

    def _h_bot_info(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        channel = self.channel(record.channel)
        return _Reply(200, {"userId": channel.bot_user_id, "basicId": channel.basic_id,
                            "displayName": channel.display_name, "chatMode": "bot", "markAsReadMode": "manual"})

    def _h_quota(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        quota = self._quota.get(record.channel)
        if quota is None:
            return _Reply(200, {"type": "none"})
        return _Reply(200, {"type": "limited", "value": quota})

    def _h_quota_consumption(self, params: dict, body: Any, retry_key: str | None,
                             record: RecordedRequest) -> _Reply:
        return _Reply(200, {"totalUsage": self._usage.get(record.channel, 0)})

    # ------------------------------------------------------------------ webhook endpoint
    def _h_get_webhook_endpoint(self, params: dict, body: Any, retry_key: str | None,
                                record: RecordedRequest) -> _Reply:
        channel = self.channel(record.channel)
        if not channel.webhook_endpoint:
            raise _error(404, MSG_NOT_FOUND)  # approximation: no URL was ever set
        return _Reply(200, {"endpoint": channel.webhook_endpoint, "active": channel.webhook_active})

    def _h_set_webhook_endpoint(self, params: dict, body: dict, retry_key: str | None,
                                record: RecordedRequest) -> _Reply:
        endpoint = body["endpoint"]
        # "The URL must be an https URL" per the reference; the emulator also takes
        # http://127.0.0.1 style URLs so local receivers can be used.
        if not endpoint.startswith(("https://", "http://")):
            raise _error(400, "The request body has 1 error(s)",
                         [{"message": "Invalid webhook endpoint URL", "property": "endpoint"}])  # approximation
        with self._lock:
            self.channel(record.channel).webhook_endpoint = endpoint
        return _Reply(200, {})

    def _h_test_webhook_endpoint(self, params: dict, body: Any, retry_key: str | None,
                                 record: RecordedRequest) -> _Reply:
        """POST a signed ``{"destination": <bot user id>, "events": []}`` to the endpoint
        (the request body's ``endpoint``, else the channel's) and report what happened."""
        import requests  # the emulators' dev dependency; imported here to keep it off import paths

        from emulators.line_webhooks import sign

        channel = self.channel(record.channel)
        endpoint = (body or {}).get("endpoint") or channel.webhook_endpoint
        if not endpoint:
            raise _error(400, MSG_WEBHOOK_NOT_SET)
        payload = json.dumps({"destination": channel.bot_user_id, "events": []}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0",
                   "X-Line-Signature": sign(channel.channel_secret, payload)}
        started = time.time()
        try:
            resp = requests.post(endpoint, data=payload, headers=headers, timeout=self.webhook_test_timeout)
            status, reason = resp.status_code, REASON_OK if 200 <= resp.status_code < 300 else REASON_ERROR_STATUS_CODE
            detail = str(resp.status_code)
        except requests.Timeout:
            status, reason, detail = 0, REASON_REQUEST_TIMEOUT, "Request timeout"
        except requests.ConnectionError as exc:
            status, reason, detail = 0, REASON_COULD_NOT_CONNECT, f"Connection failed: {type(exc).__name__}"
        self.webhook_tests.append({"endpoint": endpoint, "channel": channel.bot_user_id, "statusCode": status})
        timestamp = datetime.fromtimestamp(started, tz=timezone.utc).isoformat(timespec="milliseconds")
        return _Reply(200, {"success": reason == REASON_OK, "timestamp": timestamp.replace("+00:00", "Z"),
                            "statusCode": status, "reason": reason, "detail": detail})
