"""A stand-in for "another LINE tool" (Lステップ, Liny, ...) that webhooks are forwarded to.

:class:`ForwardTarget` is a small Flask app that records every POST to any path: the raw
body bytes, every header, the arrival time, and whether ``X-Line-Signature`` is valid for
its channel secret, computed as the LINE Platform does (base64 of the HMAC-SHA256 of the
raw body with the channel secret; https://developers.line.biz/en/docs/messaging-api/receiving-messages/#verify-signature).
Faults: :meth:`fail_next`, :meth:`delay_next` (client timeouts), :meth:`down` / :meth:`up`.

    target = ForwardTarget(channel_secret="...")
    running = serve_in_thread(target.app)      # emulators.server
    ... forward to running.url + "/line/webhook" ...
    assert target.wait_for(1, timeout=5)
    assert target.received("/line/webhook")[0].signature_valid
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import flask

__all__ = ["ForwardTarget", "ReceivedRequest", "line_signature"]


def line_signature(channel_secret: str, body: bytes) -> str:
    """``X-Line-Signature`` of ``body``: base64(HMAC-SHA256(channel secret, raw body))."""
    return base64.b64encode(hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()).decode()


@dataclass
class ReceivedRequest:
    """One POST that reached the target (whatever it was answered)."""

    path: str
    body: bytes
    #: every header as received (repeated headers joined with ", ")
    headers: dict[str, str]
    query_string: str
    #: ``time.time()`` at arrival, before any injected delay
    time: float
    #: ``X-Line-Signature`` checked against the configured secret; None without a secret
    signature_valid: bool | None
    #: status the target answered (0 while an injected delay is still running)
    status: int = 0
    faults: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """A header's value, looked up case-insensitively."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    def json(self) -> Any:
        return json.loads(self.body)


class ForwardTarget:
    """Records POSTs; answers 200 ``OK`` unless a fault is injected.

    :param channel_secret: secret of the LINE channel the forwarded webhooks are signed
        for; None to record without checking signatures.
    """

    def __init__(self, channel_secret: str | None = None, name: str = "forward-target") -> None:
        self.channel_secret = channel_secret
        self._cond = threading.Condition()
        self.reset()
        self.app = flask.Flask(f"{name}-{id(self)}")
        self.app.add_url_rule("/", "root", self._receive, defaults={"path": ""}, methods=["POST"])
        self.app.add_url_rule("/<path:path>", "any", self._receive, methods=["POST"])

    # ------------------------------------------------------------------ control
    def reset(self) -> None:
        """Forget received requests and pending faults; the target is up again."""
        with self._cond:
            self._received: list[ReceivedRequest] = []
            self._failures: list[tuple[int, bytes]] = []  # (status, body) per upcoming request
            self._delays: list[float] = []  # seconds per upcoming request
            self._down_until: float | None = None  # monotonic deadline; inf = until up()

    def fail_next(self, n: int = 1, status: int = 500, body: bytes = b"") -> None:
        """Answer the next ``n`` requests with ``status`` (they are still recorded)."""
        with self._cond:
            self._failures.extend([(status, body)] * n)

    def delay_next(self, n: int, seconds: float) -> None:
        """Hold each of the next ``n`` requests ``seconds`` before answering (a sender with a
        shorter timeout gives up; the request is recorded on arrival all the same)."""
        with self._cond:
            self._delays.extend([seconds] * n)

    def down(self, seconds: float | None = None) -> None:
        """Answer 503 to everything for ``seconds`` (None: until :meth:`up`)."""
        with self._cond:
            self._down_until = float("inf") if seconds is None else time.monotonic() + seconds

    def up(self) -> None:
        """End :meth:`down` now."""
        with self._cond:
            self._down_until = None

    @property
    def is_down(self) -> bool:
        with self._cond:
            return self._down_until is not None and time.monotonic() < self._down_until

    # ------------------------------------------------------------------ queries
    def received(self, path: str | None = None) -> list[ReceivedRequest]:
        """Requests received so far (optionally to one path, e.g. ``"/callback"``), in order."""
        with self._cond:
            return [r for r in self._received if path is None or r.path == path]

    def wait_for(self, n: int, timeout: float = 10.0, path: str | None = None) -> bool:
        """Block until at least ``n`` requests (to ``path``, if given) arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([r for r in self._received if path is None or r.path == path]) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # ------------------------------------------------------------------ HTTP
    def _receive(self, path: str) -> flask.Response:
        req = flask.request
        raw = req.get_data(cache=False)
        headers: dict[str, str] = {}
        for key, value in req.headers.items():
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        signature = req.headers.get("X-Line-Signature")
        valid = None
        if self.channel_secret is not None:
            valid = signature is not None and hmac.compare_digest(
                signature.encode(), line_signature(self.channel_secret, raw).encode())
        record = ReceivedRequest("/" + path, raw, headers, req.query_string.decode("latin-1"), time.time(), valid)
        with self._cond:
            self._received.append(record)
            down = self._down_until is not None and time.monotonic() < self._down_until
            delay = self._delays.pop(0) if self._delays else 0.0
            failure = None if down else (self._failures.pop(0) if self._failures else None)
            self._cond.notify_all()
        if delay:
            record.faults.append(f"delay {delay}s")
            time.sleep(delay)
        if down:
            record.faults.append("down")
            status, body = 503, b"Service Unavailable"
        elif failure is not None:
            record.faults.append(f"fail {failure[0]}")
            status, body = failure
        else:
            status, body = 200, b"OK"
        record.status = status
        return flask.Response(body, status=status, mimetype="text/plain")
