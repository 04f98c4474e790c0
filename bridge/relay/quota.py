"""The quota meter: the month's LINE message quota and usage, cached for /pending, and one
warning in the triage channel at 80 % and one at 100 % per month.

Only pushes count against the quota (replies with a reply token are free, and the relay
keeps preferring them), so the meter is refreshed after each push — from the worker, never
from /pending, which must answer within Slack's 3 seconds.
https://developers.line.biz/en/reference/messaging-api/#get-quota
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

from bridge.i18n import t
from bridge.model import DeliveryFailed, RetryLater
from bridge.services import Component

log = logging.getLogger(__name__)

JST = timezone(timedelta(hours=9))  # LINE's month runs on Japan time
LEVELS = (100, 80)
CACHE_TTL = 40 * 24 * 3600


def read_meter(r, keys, account: str) -> dict | None:
    raw = r.get(keys.quota(account=account))
    return json.loads(raw) if raw else None


class QuotaMeter(Component):
    def refresh(self, account: str) -> None:
        """Read quota and usage from LINE, cache them, and warn once per month and level."""
        try:
            limit, used = self.services.lines.of(account).quota()
        except (DeliveryFailed, RetryLater) as exc:
            log.info("quota of %s not read: %s", account, exc)
            return
        self.store.r.set(self.store.keys.quota(account=account), json.dumps({"limit": limit, "used": used, "at": time.time()}),
                         ex=CACHE_TTL)
        if not limit:
            return
        month = datetime.now(JST).strftime("%Y-%m")
        for level in LEVELS:
            if used * 100 >= level * limit:
                key = self.store.keys.quota_warned(account=account, month=month, level=level)
                if self.store.r.set(key, "1", nx=True, ex=CACHE_TTL):
                    channel = self.accounts.require(account).channel
                    self.slack.post_once(f"quota-{account}-{month}-{level}", channel,
                                         t(f"quota.warn{level}", self.lang, used=f"{used:,}", limit=f"{limit:,}"))
                break
