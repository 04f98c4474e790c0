"""Block Kit of forgetting a friend: the admin's button in the 友だち情報 modal and the confirmation modal."""
from __future__ import annotations

from typing import Any

from bridge.i18n import slack_t, t

ACTION_FORGET = "friend_forget"     # the admin's button (value: conv_id) → the confirmation modal
FORGET_MODAL = "friend_forget_modal"
SLACK_POSTS = "slack_posts"         # block and action id of the "also delete the bridge's posts" checkbox


def _plain(text: str, limit: int = 24) -> dict:
    return {"type": "plain_text", "text": text[:limit]}


def forget_button(conv_id: str, lang: str) -> dict:
    """An actions block for the bottom of the 友だち情報 modal (shown to admins only)."""
    return {"type": "actions", "block_id": "forget", "elements": [
        {"type": "button", "action_id": ACTION_FORGET, "value": conv_id, "style": "danger",
         "text": _plain(t("forget.button", lang), 75)}]}


def forget_modal(conv_id: str, number: int, name: str, lang: str) -> dict[str, Any]:
    """Confirm: what is deleted, that it cannot be undone, and whether the bridge's Slack posts go too."""
    option = {"text": _plain(t("forget.slack_posts", lang), 75), "value": "yes",
              "description": _plain(t("forget.slack_posts_hint", lang), 75)}
    return {
        "type": "modal", "callback_id": FORGET_MODAL, "private_metadata": conv_id,
        "title": _plain(t("forget.title", lang)), "submit": _plain(t("forget.submit", lang)),
        "close": _plain(t("forget.cancel", lang)),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_t("forget.confirm", lang, name=name, number=number)}},
            {"type": "input", "block_id": SLACK_POSTS, "optional": True, "label": _plain("Slack", 2000),
             "element": {"type": "checkboxes", "action_id": SLACK_POSTS, "options": [option]}},
        ],
    }


def wants_slack_posts(view: dict[str, Any]) -> bool:
    state = ((view.get("state") or {}).get("values") or {}).get(SLACK_POSTS) or {}
    return any(o.get("value") == "yes" for o in (state.get(SLACK_POSTS) or {}).get("selected_options") or [])
