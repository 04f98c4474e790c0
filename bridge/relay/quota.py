"""The quota meter: the month's LINE message quota and usage, cached for /pending, and one
warning in the triage channel at 80 % and one at 100 % per month.

Only pushes count against the quota (replies with a reply token are free, and the relay
keeps preferring them), so the meter moves after each push — from the worker, never from
/pending, which must answer within Slack's 3 seconds. LINE's quota and consumption
endpoints are read at most once a minute per account (two calls each time); the pushes in
between are counted locally, so ten replies in a row cost ten LINE calls, not thirty, and
the warnings still fire at the push that reaches the level.
https://developers.line.biz/en/reference/messaging-api/#get-quota
"""
from __future__ import annotations

import logging
from datetime import datetime

from bridge.i18n import t
from bridge.model import DeliveryFailed, RetryLater
from bridge.services import Component
from bridge.slack_ui.quota import JST
from bridge.store.meter import claim_read, count_push, pushes_since_read, read_meter, save_meter, warn_once, warn_unsaid, warned

log = logging.getLogger(__name__)

LEVELS = (100, 80)


class QuotaMeter(Component):
    def after_pushes(self, account: str, pushes: int = 1) -> None:
        """``pushes`` pushes were accepted by LINE: read LINE's figures if the minute's read is due, else count them."""
        if pushes > 0 and not (claim_read(self.store, account) and self.refresh(account)):
            for _ in range(pushes):
                count_push(self.store, account)
        # Without a push (the retry of a reply, which pushes nothing again): only a warning claimed
        # earlier that had to wait for the channel's turn is posted.
        self.warn(account, unsaid_only=pushes <= 0)

    def refresh(self, account: str) -> bool:
        """Read quota and usage from LINE and cache them. False if LINE did not answer."""
        counted = pushes_since_read(self.store, account)  # these pushes are in LINE's figure now
        try:
            limit, used = self.services.lines.of(account).quota()
        except (DeliveryFailed, RetryLater) as exc:
            log.info("quota of %s not read: %s", account, exc)
            return False
        save_meter(self.store, account, limit, used, counted)
        return True

    def warn(self, account: str, unsaid_only: bool = False) -> None:
        """Warn once per month and level reached (``unsaid_only``: only a claimed warning not posted yet)."""
        meter = read_meter(self.store, account)
        limit = int(meter.get("limit") or 0) if meter else 0
        if not limit:
            return
        used = int(meter.get("used") or 0)
        month = datetime.now(JST).strftime("%Y-%m")
        for level in LEVELS:
            if used * 100 >= level * limit:
                if warn_unsaid(self.store, account, month, level) if unsaid_only else warn_once(self.store, account, month, level):
                    channel = self.accounts.require(account).channel
                    try:
                        self.slack.post_once(f"quota-{account}-{month}-{level}", channel,
                                             t(f"quota.warn{level}", self.lang, used=f"{used:,}", limit=f"{limit:,}"))
                    except RetryLater:
                        # Its turn in the channel has not come: kept as unsaid, and the reply's retry
                        # posts it then (same post key: once) instead of finding it claimed and stopping.
                        warned(self.store, account, month, level, said=False)
                        raise
                    warned(self.store, account, month, level, said=True)
                break
