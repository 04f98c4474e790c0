"""Message content on ``api-data.line.me``: download, preview, transcoding status.

Mixed into :class:`emulators.line.core.LineEmulator`.
"""
from __future__ import annotations

from typing import Any

from emulators.line.wire import MSG_NOT_FOUND, RecordedRequest, _error, _Reply


class ContentMixin:
    """Content registration and the api-data handlers."""

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg",
                    preview: bytes | None = None) -> None:
        """Make ``message_id``'s content downloadable from the api-data endpoints."""
        with self._lock:
            self._contents[str(message_id)] = (data, content_type, preview)

    def _content(self, params: dict) -> tuple[bytes, str, bytes | None]:
        with self._lock:
            content = self._contents.get(params["messageId"])
        if content is None:
            raise _error(404, MSG_NOT_FOUND)
        return content

    def _h_content(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        data, ctype, _ = self._content(params)
        return _Reply(200, data, {"Content-Type": ctype})

    def _h_content_preview(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        data, ctype, preview = self._content(params)
        return _Reply(200, preview if preview is not None else data,
                      {"Content-Type": "image/jpeg" if preview is not None else ctype})

    def _h_transcoding(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        self._content(params)
        return _Reply(200, {"status": "succeeded"})
