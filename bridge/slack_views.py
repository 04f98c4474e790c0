"""Slack Block Kit layouts the bridge posts (plain dicts: no SDK objects)."""
from __future__ import annotations

from bridge.i18n import t
from bridge.model import MARK_RESOLVED, Conversation
from bridge.text import line_to_slack

MARK_EMOJI = {"needs_reply": "🔴", "resolved": "✅"}


def parent_message(conv: Conversation, lang: str) -> tuple[str, list[dict]]:
    """The thread parent: who the chat is with, its number and its state. Returns (fallback text, blocks)."""
    name = line_to_slack(conv.name or t("unknown_name", lang))
    title = t("parent.title", lang, number=conv.number, name=name)
    mark = f"{MARK_EMOJI.get(conv.mark, '🏷️')} {t('mark.' + conv.mark, lang)}"
    assignee = f"<@{conv.assignee}>" if conv.assignee else t("parent.nobody", lang)
    status = t("parent.status", lang, mark=mark, assignee=assignee)
    if conv.blocked:
        status += "  ·  " + t("parent.blocked", lang)
    section: dict = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*{title}*  ·  {t('parent.kind.' + conv.source_type, lang)}\n{status}"},
    }
    if conv.picture_url:
        section["accessory"] = {"type": "image", "image_url": conv.picture_url, "alt_text": name}
    blocks = [section]
    if conv.mark != MARK_RESOLVED:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("parent.hint", lang)}]})
    fallback = f"{title} — {t('mark.' + conv.mark, lang)}"
    return fallback, blocks
