"""/pending's quota line: the month's LINE message usage per account (from the meter's cache)."""
from __future__ import annotations

from bridge.i18n import t


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
