"""The ephemeral answer to an edit made after delivery, with its "send as a correction" button."""
from __future__ import annotations

from bridge.i18n import t

ACTION_CORRECTION = "lsb_send_correction"


def correction_offer(channel: str, ts: str, thread_ts: str, lang: str) -> tuple[str, list[dict]]:
    text = t("undo.too_late_edit", lang)
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
                  {"type": "actions", "elements": [{"type": "button", "action_id": ACTION_CORRECTION, "style": "primary",
                                                    "text": {"type": "plain_text", "text": t("undo.correction_button", lang)},
                                                    "value": f"{channel}|{ts}|{thread_ts}"}]}]
