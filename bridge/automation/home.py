"""App Home: rendered for one person on ``app_home_opened`` and after they switch duty."""
from __future__ import annotations

import logging
from datetime import datetime, time as day_start

from bridge import clock
from bridge.access import visible_channels
from bridge.automation.views import Timekeeper
from bridge.model import DeliveryFailed, RetryLater
from bridge.services import Component, Services
from bridge.slack_ui.home import home_view
from bridge.store.automation import AutomationStore
from bridge.store.follows import follows_between
from bridge.store.listing import workspace_url

log = logging.getLogger(__name__)

ROWS = 15


class Home(Component):
    def __init__(self, services: Services, timekeeper: Timekeeper, state: AutomationStore):
        super().__init__(services)
        self.timekeeper = timekeeper
        self.state = state

    def publish(self, user: str) -> None:
        now = clock.now()
        allowed = visible_channels(self.store, self.slack, user, self.accounts.channels())
        accounts = [a.key for a in self.accounts if a.channel in allowed]
        mine = self.backlog.query(assignee=user, accounts=accounts, limit=ROWS, now=now)
        overdue = self.timekeeper.overdue_page(self.state, accounts, assignee=user, limit=ROWS, now=now)
        base = workspace_url(self.store)

        def link(row) -> str:
            return f"{base}{row.channel}/p{row.thread_ts.replace('.', '')}" if base and row.thread_ts else ""

        view = home_view(user=user, on_duty=user not in self.state.off_duty([user]), mine=mine, overdue=overdue,
                         marks=self.marks, lang=self.lang, now=now, link_for=link,
                         note_for=lambda r: self.timekeeper.sla_text(r.account, r.mark, r.waiting_since, now),
                         quotas=[(self.accounts.require(a).name, self.quota_text(a)) for a in accounts],
                         follows=[(self.accounts.require(a).name, *self.follows_today(a, now)) for a in accounts])
        self.slack.publish_home(user, view)

    def quota_text(self, account: str) -> str:
        try:
            limit, used = self.services.lines.of(account).quota()
        except (DeliveryFailed, RetryLater) as exc:
            log.info("LINE quota of %s unavailable: %s", account, exc)
            return "?"
        return f"{used:,} / {limit:,}" if limit is not None else f"{used:,}"

    def follows_today(self, account: str, now: float) -> tuple[int, int]:
        """(follows, of which unblocks) since midnight in the account's time zone: quiet follows open
        no conversation, so this is where a campaign's new friends show."""
        schedule = self.timekeeper.schedules.of(account)
        midnight = datetime.combine(schedule.local_date(now), day_start(0), tzinfo=schedule.tz).timestamp()
        records = follows_between(self.store, account, midnight, now)
        return len(records), sum(1 for r in records if r.get("unblocked"))

    def set_duty(self, user: str, on: bool) -> None:
        self.state.set_duty(user, on)
        self.publish(user)
