"""The quota meter: the month's LINE message quota and usage, cached for /pending, and one
warning in the triage channel at 80 % and one at 100 % per month.

Only pushes count against the quota (replies with a reply token are free, and the relay
keeps preferring them), so the meter is refreshed after each push — from the worker, never
from /pending, which must answer within Slack's 3 seconds.
https://developers.line.biz/en/reference/messaging-api/#get-quota
"""
from __future__ import annotations

import logging
from datetime import datetime

from bridge.i18n import t
from bridge.model import DeliveryFailed, RetryLater
from bridge.services import Component
from bridge.slack_ui.quota import JST
from bridge.store.meter import save_meter, warn_once

log = logging.getLogger(__name__)

LEVELS = (100, 80)


class QuotaMeter(Component):
    def refresh(self, account: str) -> None:
        """Read quota and usage from LINE, cache them, and warn once per month and level."""
        try:
            limit, used = self.services.lines.of(account).quota()
        except (DeliveryFailed, RetryLater) as exc:
            log.info("quota of %s not read: %s", account, exc)
            return
        save_meter(self.store, account, limit, used)
        if not limit:
            return
        month = datetime.now(JST).strftime("%Y-%m")
        for level in LEVELS:
            if used * 100 >= level * limit:
                if warn_once(self.store, account, month, level):
                    channel = self.accounts.require(account).channel
                    self.slack.post_once(f"quota-{account}-{month}-{level}", channel,
                                         t(f"quota.warn{level}", self.lang, used=f"{used:,}", limit=f"{limit:,}"))
                break
