"""LINE message content (api-data host): transcoding status and streamed downloads.

The SDK's ``MessagingApiBlob`` reads a whole body into memory (``raw_data``) and always
targets ``https://api-data.line.me``; media can be 200 MB, so the bridge streams the body
to a file through the SDK's own connection pool (same TLS settings, same token) instead.
https://developers.line.biz/en/reference/messaging-api/#get-content
"""
from __future__ import annotations

import json
import logging
from typing import BinaryIO

import urllib3

from bridge.model import DeliveryFailed, RetryLater

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
TIMEOUT = urllib3.Timeout(connect=10, read=30)


class LineContent:
    def __init__(self, pool: urllib3.PoolManager, token: str, data_base_url: str):
        self.pool = pool
        self.token = token
        self.base = data_base_url.rstrip("/")

    def _get(self, path: str, what: str) -> urllib3.BaseHTTPResponse:
        try:
            resp = self.pool.request("GET", self.base + path, headers={"Authorization": f"Bearer {self.token}"},
                                     preload_content=False, timeout=TIMEOUT, retries=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise RetryLater(f"LINE {what}: {type(exc).__name__}", delay=5) from exc
        if resp.status == 200:
            return resp
        body = resp.read(4096).decode("utf-8", "replace")
        resp.release_conn()
        if resp.status == 429:
            raise RetryLater(f"LINE {what}: rate limited", delay=float(resp.headers.get("Retry-After") or 10), throttled=True)
        if resp.status >= 500:
            raise RetryLater(f"LINE {what}: HTTP {resp.status}", delay=5)
        if resp.status == 404:
            raise DeliveryFailed("content_gone", body[:200], 404)
        raise DeliveryFailed("invalid", f"HTTP {resp.status} {body[:200]}", resp.status)

    def transcoding_status(self, message_id: str) -> str:
        """``processing`` | ``succeeded`` | ``failed`` (videos and audio must be ready before download)."""
        resp = self._get(f"/v2/bot/message/{message_id}/content/transcoding", "transcoding")
        try:
            return str(json.loads(resp.read(65536) or b"{}").get("status") or "")
        finally:
            resp.release_conn()

    def download(self, message_id: str, dest: BinaryIO, max_bytes: int) -> tuple[str, int]:
        """Stream the content into ``dest``; returns (content type, size). Bigger than ``max_bytes``: DeliveryFailed."""
        resp = self._get(f"/v2/bot/message/{message_id}/content", "content")
        size = 0
        try:
            declared = int(resp.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise DeliveryFailed("too_large", f"{declared} bytes")
            for chunk in resp.stream(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DeliveryFailed("too_large", f"> {max_bytes} bytes")
                dest.write(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise RetryLater(f"LINE content: {type(exc).__name__}", delay=5) from exc
        finally:
            resp.release_conn()
        return (resp.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip(), size
