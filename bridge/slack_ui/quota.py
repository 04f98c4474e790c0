"""The quota meter as staff read it: /pending's usage line and /stats' forecast (from the meter's cache)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from bridge.i18n import t

JST = timezone(timedelta(hours=9))  # LINE's month runs on Japan time (as bridge.relay.quota)


def quota_block(meters: list[tuple[str, dict]], lang: str) -> dict | None:
    """A context block "📊 used / limit (n %)" for each account with a cached meter, or None."""
    parts = []
    for label, meter in meters:
        used, limit = int(meter.get("used") or 0), meter.get("limit")
        prefix = t("quota.account", lang, name=label) if label else ""
        if limit:
            parts.append(prefix + t("quota.line", lang, used=f"{used:,}", limit=f"{int(limit):,}", percent=used * 100 // int(limit)))
        else:
            parts.append(prefix + t("quota.line_unlimited", lang, used=f"{used:,}"))
    if not parts:
        return None
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "  ·  ".join(parts)[:2900]}]}


def month_bounds(at: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the Japan-time month that contains ``at``."""
    start = datetime.fromtimestamp(at, JST).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), end.timestamp()


def forecast(used: int, limit: int | None, at: float) -> tuple[str, float | None, int]:
    """Where this month's pace leads: ("reached" | "out" | "ok" | "", run-out time, projected usage).

    The pace is the usage read at ``at`` over the part of the month elapsed by then, assumed
    to go on evenly: a campaign day early in the month shows its cost at once. "" when the
    account has no limit.
    """
    if not limit:
        return "", None, used
    if used >= limit:
        return "reached", None, used
    start, end = month_bounds(at)
    elapsed = at - start
    if used <= 0 or elapsed <= 0:
        return "ok", None, used
    rate = used / elapsed
    projected = int(rate * (end - start))
    if projected <= limit:
        return "ok", None, projected
    return "out", start + limit / rate, projected


def forecast_lines(meters: list[tuple[str, dict]], lang: str) -> list[str]:
    """/stats' forecast per account: 「このペースだと … に達する見込み」 or 「今月は上限内の見込み」."""
    lines = []
    for label, meter in meters:
        used, limit = int(meter.get("used") or 0), int(meter.get("limit") or 0)
        kind, runs_out, projected = forecast(used, limit, float(meter.get("at") or time.time()))
        prefix = t("quota.account", lang, name=label) if label else ""
        if kind == "out" and runs_out is not None:
            day = datetime.fromtimestamp(runs_out, JST).strftime("%Y-%m-%d")
            lines.append(t("stats.forecast_out", lang, prefix=prefix, limit=f"{limit:,}", date=f"<!date^{int(runs_out)}^{{date_long}}|{day}>"))
        elif kind == "ok":
            lines.append(t("stats.forecast_ok", lang, prefix=prefix, projected=f"{projected:,}", limit=f"{limit:,}"))
        elif kind == "reached":
            lines.append(t("stats.forecast_reached", lang, prefix=prefix, limit=f"{limit:,}"))
    return lines
