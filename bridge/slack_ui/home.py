"""App Home (per person): my open conversations, counts per mark, overdue ones, the on-duty
switch, today's new friends and this month's LINE message quota. Plain Block Kit dicts."""
from __future__ import annotations

from typing import Callable

from bridge.humanize import waited
from bridge.i18n import t
from bridge.store.backlog import BacklogPage, BacklogRow
from bridge.text import mrkdwn, preview

ACTION_DUTY = "home_duty"   # value "on" | "off"


def _row(row: BacklogRow, marks, lang: str, now: float, link: str, note: str) -> str:
    name = mrkdwn.escape(preview(row.name, 40)) or t("unknown_name", lang)
    parts = [f"*#{row.number} {name}*", marks.effective(row.mark).display(lang)]
    if row.waiting_since:
        parts.append(t("pending.waiting", lang, duration=waited(now - row.waiting_since, lang)))
    if note:
        parts.append(note)
    if link:
        parts.append(f"<{link}|{t('pending.open_thread', lang)}>")
    elif not row.thread_ts:
        parts.append(f"_{t('pending.not_shown', lang)}_")
    return " · ".join(parts)


def home_view(*, user: str, on_duty: bool, mine: BacklogPage, overdue: BacklogPage, marks, lang: str, now: float,
              link_for: Callable[[BacklogRow], str], note_for: Callable[[BacklogRow], str],
              quotas: list[tuple[str, str]], follows: list[tuple[str, int, int]] = ()) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": t("home.title", lang)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": t("home.duty_on" if on_duty else "home.duty_off", lang)},
         "accessory": {"type": "button", "action_id": ACTION_DUTY, "value": "off" if on_duty else "on",
                       "text": {"type": "plain_text", "text": t("home.go_off" if on_duty else "home.go_on", lang)}}},
        {"type": "divider"},
    ]
    counts = " · ".join(f"{marks.effective(k).display(lang)} {n}" for k, n in mine.counts.items() if n)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": t("home.mine", lang, total=mine.total)
                                               + (f"\n{counts}" if counts else "")}})
    for row in mine.rows:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": mrkdwn.clip(_row(row, marks, lang, now, link_for(row), note_for(row)))}})
    if not mine.rows:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("home.none", lang)}]})
    blocks.append({"type": "divider"})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": t("home.overdue", lang, total=overdue.total)}})
    for row in overdue.rows:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": mrkdwn.clip(_row(row, marks, lang, now, link_for(row), note_for(row)))}})
    if follows:  # (account, follows today, of which unblocks): quiet follows show nowhere else
        blocks.append({"type": "divider"})
        text = t("home.follows", lang, count=f"{sum(n for _, n, _ in follows):,}")
        if len(follows) > 1 or any(u for _, _, u in follows):
            text += "\n" + "\n".join(t("home.follows_line", lang, account=mrkdwn.escape(a), count=f"{n:,}",
                                        unblocked=f"{u:,}") for a, n, u in follows)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.clip(text)}})
    if quotas:
        blocks.append({"type": "divider"})
        lines = "\n".join(t("home.quota_line", lang, account=a, usage=u) for a, u in quotas)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": t("home.quota", lang) + "\n" + lines}})
    return {"type": "home", "blocks": blocks[:100]}
