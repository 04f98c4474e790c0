"""HTTP client that forwards a LINE webhook to another tool (the :class:`~bridge.ports.ForwardPort`)."""
from __future__ import annotations

import urllib3

TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)


class ForwardIOError(OSError):
    """The target could not be reached. Only urllib3's error class is kept (``kind``): its message
    repeats the full URL, which often embeds the other tool's secret."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class ForwardClient:
    def __init__(self) -> None:
        # No automatic retries: the inbox retries with backoff and keeps the order per target.
        self.http = urllib3.PoolManager(retries=False, timeout=TIMEOUT)

    def forward(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST the raw body with the given headers; returns the HTTP status (raises OSError-like errors on I/O failure)."""
        try:
            resp = self.http.request("POST", url, body=body, headers=headers, redirect=False, preload_content=True)
        except urllib3.exceptions.HTTPError as exc:
            raise ForwardIOError(type(exc).__name__) from None
        return resp.status
