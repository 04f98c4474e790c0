"""Block Kit of the segment broadcast: compose (step 1) and confirm (step 2) modals."""
from __future__ import annotations

import json
from typing import Any

from bridge.i18n import t
from bridge.text import mrkdwn
from bridge.triage.marks import MarkSet

COMPOSE = "broadcast_compose"
CONFIRM = "broadcast_confirm"
MAX_TEXT = 2000   # the confirm step carries the message in private_metadata (Slack: ≤ 3000 characters)
IMAGE_FILETYPES = ["jpg", "jpeg", "png"]   # what LINE shows as an image as is (the bridge checks again)


def _plain(text: str, limit: int = 75) -> dict:
    return {"type": "plain_text", "text": text[:limit]}


def compose_modal(accounts: list[tuple[str, str]], marks: MarkSet, lang: str, channel: str) -> dict:
    blocks: list[dict] = []
    if len(accounts) > 1:
        options = [{"text": _plain(name), "value": key} for key, name in accounts]
        blocks.append({"type": "input", "block_id": "account", "label": _plain(t("broadcast.account", lang)),
                       "element": {"type": "static_select", "action_id": "account", "options": options,
                                   "initial_option": options[0]}})
    blocks += [
        {"type": "input", "block_id": "conditions", "optional": True, "label": _plain(t("broadcast.conditions", lang)),
         "element": {"type": "plain_text_input", "action_id": "conditions",
                     "placeholder": _plain(t("broadcast.conditions_hint", lang), 150)}},
        {"type": "input", "block_id": "marks", "optional": True, "label": _plain(t("broadcast.marks", lang)),
         "element": {"type": "multi_static_select", "action_id": "marks",
                     "options": [{"text": _plain(m.label(lang)), "value": m.key} for m in marks.ordered()][:100]}},
        {"type": "input", "block_id": "message", "optional": True, "label": _plain(t("broadcast.message", lang)),
         "element": {"type": "plain_text_input", "action_id": "message", "multiline": True, "max_length": MAX_TEXT}},
        {"type": "input", "block_id": "image", "optional": True, "label": _plain(t("broadcast.image", lang)),
         "hint": _plain(t("broadcast.image_hint", lang), 150),
         "element": {"type": "file_input", "action_id": "image", "filetypes": IMAGE_FILETYPES, "max_files": 1}},
    ]
    meta = json.dumps({"channel": channel, "account": accounts[0][0] if len(accounts) == 1 else ""})
    return {"type": "modal", "callback_id": COMPOSE, "private_metadata": meta,
            "title": _plain(t("broadcast.title", lang), 24), "submit": _plain(t("broadcast.next", lang), 24),
            "close": _plain(t("broadcast.back", lang), 24), "blocks": blocks}


def compose_values(view: dict[str, Any]) -> dict[str, Any]:
    state = (view.get("state") or {}).get("values") or {}

    def get(block: str) -> dict:
        return (state.get(block) or {}).get(block) or {}

    meta = json.loads(view.get("private_metadata") or "{}")
    return {
        "account": (get("account").get("selected_option") or {}).get("value") or meta.get("account", ""),
        "channel": meta.get("channel", ""),
        "conditions": get("conditions").get("value") or "",
        "marks": [o["value"] for o in get("marks").get("selected_options") or []],
        "message": (get("message").get("value") or "").strip(),
        "files": list(get("image").get("files") or []),   # file_input: full Slack file objects
    }


def confirm_view(metadata: dict, total: int, blocked: int, left: str, conditions: str, lang: str) -> dict:
    """``metadata``: {"segment", "text", "image"?: {"id", "name"}, "channel"}; the preview shows the
    text and the image (an image block showing the Slack file itself), as the friends will get them."""
    text, image = metadata["text"], metadata.get("image")
    preview: list[dict] = []
    if text:
        preview.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.clip(mrkdwn.escape(text))}})
    if image:
        preview.append({"type": "image", "slack_file": {"id": image["id"]}, "alt_text": (image.get("name") or "image")[:2000],
                        "title": _plain(t("broadcast.image_line", lang, name=image.get("name") or ""), 2000)})
    return {
        "type": "modal", "callback_id": CONFIRM, "private_metadata": json.dumps(metadata, ensure_ascii=False),
        "title": _plain(t("broadcast.title", lang), 24), "submit": _plain(t("broadcast.send", lang), 24),
        "close": _plain(t("broadcast.back", lang), 24),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": t("broadcast.confirm", lang, total=f"{total:,}",
                                                                      blocked=f"{blocked:,}", left=left, conditions=conditions)}},
            {"type": "header", "text": _plain(t("broadcast.preview", lang), 150)},
            *preview,
        ],
    }
