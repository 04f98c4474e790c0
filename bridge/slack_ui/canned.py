"""定型文 in Slack: the picker of the message shortcut's modal and the bridge's post of a picked 定型文."""
from __future__ import annotations

from bridge.i18n import t
from bridge.text import mrkdwn

ACTION_CANNED_CANCEL = "canned_cancel"   # 取り消し on a picked 定型文 waiting in its undo window
BLOCK_CANNED = "canned"                  # the modal's select (block_id = action_id)
BLOCK_EXTRA = "canned_extra"             # the modal's optional extra text
SECTION_MAX = 2900                       # a section's text is at most 3000 characters


def quoted(text: str) -> str:
    """Slack markup as a block quote (every line)."""
    return "\n".join("> " + line for line in text.splitlines()) or ">"


def picker_blocks(replies: dict[str, str], lang: str) -> list[dict]:
    """Modal inputs: a select of the account's 定型文 (key + beginning of the text) and an optional extra text."""
    if not replies:
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": t("canned.pick.none", lang)}]}]
    options = []
    for key, text in list(replies.items())[:100]:  # a static_select holds at most 100 options
        label = f"!{key} — " + " ".join(text.split())
        options.append({"text": {"type": "plain_text", "text": label[:74] + ("…" if len(label) > 74 else "")}, "value": key})
    return [
        {"type": "input", "block_id": BLOCK_CANNED, "optional": True,
         "label": {"type": "plain_text", "text": t("canned.pick.label", lang)},
         "hint": {"type": "plain_text", "text": t("canned.pick.hint", lang)},
         "element": {"type": "static_select", "action_id": BLOCK_CANNED, "options": options,
                     "placeholder": {"type": "plain_text", "text": t("canned.pick.placeholder", lang)}}},
        {"type": "input", "block_id": BLOCK_EXTRA, "optional": True,
         "label": {"type": "plain_text", "text": t("canned.pick.extra", lang)},
         "element": {"type": "plain_text_input", "action_id": BLOCK_EXTRA, "multiline": True, "max_length": 2000}},
    ]


def picked_post(user: str, key: str, text: str, lang: str, status: str = "waiting", seconds: int = 0) -> tuple[str, list[dict]]:
    """The bridge's post of a picked 定型文 (``text`` in Slack markup, exactly what LINE gets).

    ``status``: "waiting" (with the 取り消し button, ``seconds`` left), "sent", "cancelled" or "failed".
    """
    head = t("canned.pick.post", lang, user=f"<@{user}>", name=key)
    body = quoted(mrkdwn.clip(text, SECTION_MAX))  # never inside an entity of the escaped text
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.clip(f"{head}\n{body}")}}]
    if status == "waiting" and seconds <= 0:
        status = "sending"  # no undo window (BRIDGE_SEND_DELAY_SECONDS=0): nothing to cancel
    if status == "waiting":
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("canned.pick.waiting", lang, seconds=seconds)}]})
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": ACTION_CANNED_CANCEL, "style": "danger", "value": key,
             "text": {"type": "plain_text", "text": t("canned.pick.cancel", lang)}}]})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("canned.pick." + status, lang)}]})
    return f"{head}\n{text}", blocks


def preview_text(text: str, seconds: int, unknown: list[str], lang: str) -> str:
    """The ephemeral a typed ``!key`` reply's author sees while it waits: the exact text LINE will get."""
    parts = []
    if text:
        parts.append(t("canned.preview", lang, seconds=seconds, text=quoted(text)))
    if unknown:
        parts.append(t("canned.preview_unknown", lang, keys=", ".join(f"`!{k}`" for k in unknown)))
    return "\n".join(parts)
