"""App Home (``app_home_opened``, the on-duty switch: both only enqueue a job) and ``/stats``
(read-only, answered within Slack's 3 seconds from the recorded stats; the chart image is a job
that uploads it to the asker's DM)."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bridge import clock
from bridge.automation.stats import PERIODS, Stats, has_chart, render_report
from bridge.automation.views import timekeeper_of
from bridge.engine import jobs
from bridge.i18n import t
from bridge.runtime import Runtime
from bridge.slack_ui.home import ACTION_DUTY
from bridge.slack_ui.quota import forecast_lines
from bridge.store.meter import read_meter
from handlers.slack.ops import visible_accounts


def register(app: App, rt: Runtime) -> None:
    @app.event("app_home_opened")
    def handle_app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            rt.low_queue.enqueue(jobs.publish_home, event["user"], result_ttl=60, failure_ttl=86400)

    @app.action(ACTION_DUTY)
    def handle_duty_switch(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        rt.queue.enqueue(jobs.set_duty, body["user"]["id"], action.get("value") == "on", result_ttl=60, failure_ttl=86400)

    @app.command("/stats")
    def handle_stats_command(ack: Ack, command: dict[str, Any]) -> None:
        lang = rt.settings.language
        visible = visible_accounts(rt, command["user_id"], command.get("channel_id", ""))
        if not visible:
            ack(text=t("op.refused", lang, channel=", ".join(f"<#{c}>" for c in sorted(rt.accounts.channels()))),
                response_type="ephemeral")
            return
        word = (command.get("text") or "").strip().lower()
        if word not in PERIODS:
            ack(text=t("stats.usage", lang), response_type="ephemeral")
            return
        stats = Stats(rt.stores.automation, timekeeper_of(rt).schedules)
        now, days = clock.now(), PERIODS[word]
        report = stats.report(visible, days, now)
        report.forecasts = forecast_lines([(rt.accounts.require(a).name if len(visible) > 1 else "", m)
                                           for a in sorted(visible) if (m := read_meter(rt.store, a))], lang)
        report.retention = retention_lines(rt, sorted(visible), lang)
        chart = has_chart(report)
        text, blocks = render_report(report, lang, chart=chart)
        ack(text=text, blocks=blocks, response_type="ephemeral")
        if chart:
            rt.low_queue.enqueue(jobs.stats_chart, command["user_id"], sorted(visible), days, now,
                                 result_ttl=60, failure_ttl=86400)


def retention_lines(rt: Runtime, accounts: list[str], lang: str) -> list[str]:
    """/stats: what retention deleted, per account that has ``retention_days`` (bridge.privacy.retention)."""
    lines = []
    for key in accounts:
        account = rt.accounts.require(key)
        if not account.retention_days:
            continue
        rs = rt.stores.forget.retention_stats(key)
        line = t("retention.stats", lang, days=account.retention_days, entries=int(rs.get("entries") or 0),
                 media=int(rs.get("media") or 0), total_entries=int(rs.get("total_entries") or 0),
                 total_media=int(rs.get("total_media") or 0))
        lines.append(f"{account.name}: {line}" if len(accounts) > 1 else line)
    return lines
