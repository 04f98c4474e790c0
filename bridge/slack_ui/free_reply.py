"""Free replies, shown to staff: the 今すぐ送信（無料） offer for a reply whose undo window would
outlast the friend's reply token, and the parent's "free reply until …" line.

Both show an absolute time that Slack renders in each viewer's time zone
(https://api.slack.com/reference/surfaces/formatting#date-formatting): a countdown would
need a chat.update per tick, and the rate limit is needed for messages. A deadline stays
true as a statement once it has passed.
"""
from __future__ import annotations

import time

from bridge.i18n import t

ACTION_SEND_NOW = "lsb_send_now_free"


def slack_time(at: float) -> str:
    """HH:MM:SS in the viewer's time zone, with a UTC fallback."""
    return f"<!date^{int(at)}^{{time_secs}}|{time.strftime('%H:%M:%S UTC', time.gmtime(at))}>"


def free_until_badge(token_at: float, ttl: float, lang: str, now: float) -> str:
    """The parent's 「🆓 無料返信は 12:34:56 まで」, or "" when no free reply is possible any more."""
    deadline = token_at + ttl
    return t("parent.free_until", lang, until=slack_time(deadline)) if token_at and now < deadline else ""


def send_now_offer(channel: str, ts: str, thread_ts: str, deadline: float, now: float, lang: str) -> tuple[str, list[dict]]:
    """The ephemeral to a reply's author: the free reply's deadline and the button that skips the window."""
    text = t("free.offer", lang, until=slack_time(deadline), seconds=max(0, int(deadline - now)))
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
                  {"type": "actions", "elements": [{"type": "button", "action_id": ACTION_SEND_NOW, "style": "primary",
                                                    "text": {"type": "plain_text", "text": t("free.button", lang)},
                                                    "value": f"{channel}|{ts}|{thread_ts}"}]}]
