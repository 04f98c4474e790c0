"""Block Kit pieces of the automation: the parent's 返信待ち reminder switch."""
from __future__ import annotations

from bridge.i18n import t

ACTION_REMINDERS = "conv_reminders"   # value "<on|off>:<conv_id>"


def reminder_switch(conv_id: str, off: bool, lang: str) -> dict:
    """🔕 stop reminders / 🔔 resume them (shown while the conversation is 返信待ち)."""
    return {"type": "button", "action_id": ACTION_REMINDERS, "value": f"{'on' if off else 'off'}:{conv_id}",
            "text": {"type": "plain_text", "text": t("reminder.button_on" if off else "reminder.button_off", lang)}}
