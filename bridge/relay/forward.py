"""Forwarding verified LINE webhooks, unchanged, to the other tools an account runs (Lステップ, Liny, エルメ…).

A LINE channel has one webhook URL, so the bridge receives every webhook and forwards it:
the raw body bytes, the original ``X-Line-Signature`` and LINE's headers, so the other tool
verifies it as if LINE had called it. Each target URL has its own ordered stream
(:func:`bridge.engine.work.forward_stream`): one slow or failing target never delays our own
processing or another target. A failure is retried with backoff (never counted toward
giving up while the target is failing); an item older than ``FORWARD_MAX_AGE`` is given
up and dead-lettered. A target failing for ``BRIDGE_FORWARD_ALERT_AFTER`` seconds (600)
gets one line in the account's triage channel, and one more when it recovers.

A target URL often embeds the other tool's secret, so it is shown — in every log line,
retry reason, dead-letter reason, Slack post and ``bridge.admin status`` — only as
``scheme://host[:port]`` (:func:`bridge.urls.shown_url`).
"""
from __future__ import annotations

import base64
import logging
from typing import Any

from bridge import clock
from bridge.i18n import t
from bridge.model import DeliveryFailed, RetryLater
from bridge.ports import ForwardPort
from bridge.services import Component, Services
from bridge.urls import shown_url

__all__ = ["Forwarder", "shown_url", "FORWARD_MAX_AGE"]

log = logging.getLogger(__name__)

FORWARD_MAX_AGE = 24 * 3600  # s; older webhooks are given up (dead-lettered, visible in bridge.admin)
MAX_BACKOFF = 60.0


def _io_error(exc: OSError) -> str:
    """A failed connection, named without its text (urllib3's messages repeat the full URL)."""
    kind = getattr(exc, "kind", "")
    return kind if isinstance(kind, str) and kind.isidentifier() else type(exc).__name__


class Forwarder(Component):
    def __init__(self, services: Services, port: ForwardPort | None):
        super().__init__(services)
        self.port = port

    def handle_item(self, payload: dict[str, Any]) -> None:
        account, url, target = payload["account"], payload["url"], payload["target"]
        if self.port is None:
            raise DeliveryFailed("forward_unavailable", "no forwarding client in this process")
        try:
            status = self.port.forward(url, base64.b64decode(payload["body"]), payload.get("headers") or {})
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except OSError as exc:  # timeouts, refused connections, TLS errors
            error = _io_error(exc)
        if not error:
            self._succeeded(account, url, target)
            return
        self._failed(account, url, target, error, float(payload.get("received_at") or clock.now()))

    def _failed(self, account: str, url: str, target: str, error: str, received_at: float) -> None:
        now = clock.now()  # the test clock can age an item past FORWARD_MAX_AGE
        status = self.store.forward_failure(account, target, error, now)
        first = float(status.get("first_failure_at") or now)
        failures = int(status.get("failures") or 1)
        shown = shown_url(url)
        log.warning("forwarding to %s (%s) failed (%s), %d failure(s) since %.0f s", shown, account, error, failures, now - first)
        if now - first >= self.settings.forward_alert_after and status.get("alerted") != "1":
            # Marked alerted only once said: an alert that had to wait for the channel's turn is
            # tried again at the next failure (same post key: said once), not dropped for good.
            if self._tell(account, "forward.failing", f"fwd-fail-{account}-{target}-{int(first)}",
                          url=shown, minutes=int((now - first) // 60), error=error):
                self.store.forward_status_set(account, target, alerted="1")
        if now - received_at > FORWARD_MAX_AGE:
            raise DeliveryFailed("forward_gave_up", f"{shown}: {error}")
        # Throttled: a target being down is not this item's fault, so it never counts toward giving up.
        raise RetryLater(f"forward: {error} ({shown})", delay=min(MAX_BACKOFF, 2.0 ** min(failures, 6)), throttled=True)

    def _succeeded(self, account: str, url: str, target: str) -> None:
        status = self.store.forward_success(account, target)
        if status.get("alerted") == "1":
            self._tell(account, "forward.recovered", f"fwd-ok-{account}-{target}-{status.get('first_failure_at')}",
                       url=shown_url(url), count=status.get("failures") or "0")

    def _tell(self, account_key: str, key: str, post_key: str, **params: Any) -> bool:
        """One line in the account's triage channel; False when it could not be posted (now)."""
        account = self.accounts.get(account_key)
        if account is None:
            return True  # nobody to tell
        try:
            self.slack.post_once(post_key, account.channel, t(key, self.lang, account=account.name, **params))
            return True
        except (DeliveryFailed, RetryLater) as exc:
            log.warning("could not tell the triage channel about forwarding: %s", exc)
            return False
