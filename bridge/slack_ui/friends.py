"""Block Kit of 友だち情報: the edit modal and /friend's answer (plain dicts)."""
from __future__ import annotations

from typing import Any

from bridge.friends.config import FieldDef
from bridge.friends.values import FriendData, summary
from bridge.i18n import t
from bridge.text import mrkdwn

FRIEND_MODAL = "friend_modal"
SHORTCUT_FRIEND = "friend_info"
ACTION_FRIEND = "conv_friend"
MAX_RESULTS = 20


def _plain(text: str, limit: int = 75) -> dict:
    return {"type": "plain_text", "text": text[:limit]}


def _field_element(fdef: FieldDef, value: str) -> dict:
    aid = f"f.{fdef.key}"   # action ids are unique in the view: the block id
    if fdef.type == "date":
        el: dict[str, Any] = {"type": "datepicker", "action_id": aid}
        if value:
            el["initial_date"] = value
        return el
    if fdef.type == "choice":
        options = [{"text": _plain(c), "value": c[:150]} for c in fdef.choices][:100]
        el = {"type": "static_select", "action_id": aid, "options": options}
        chosen = next((o for o in options if o["value"] == value), None)
        if chosen:
            el["initial_option"] = chosen
        return el
    if fdef.type == "number":
        el = {"type": "number_input", "action_id": aid, "is_decimal_allowed": True}
    else:
        el = {"type": "plain_text_input", "action_id": aid, "max_length": 500}
    if value:
        el["initial_value"] = value
    return el


def friend_modal(conv_id: str, title: str, data: FriendData, fdefs: list[FieldDef], lang: str,
                 extra: list[dict] | None = None) -> dict:
    """Edit 友だち情報: one input per configured field, the tags, the note (+ ``extra`` blocks at the end)."""
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{mrkdwn.escape(title)}*"}}]
    for fdef in fdefs[:90]:
        blocks.append({"type": "input", "block_id": f"f.{fdef.key}", "optional": True, "label": _plain(fdef.label(lang), 2000),
                       "element": _field_element(fdef, data.fields.get(fdef.key, ""))})
    tags: dict[str, Any] = {"type": "plain_text_input", "action_id": "tags", "max_length": 1500,
                            "placeholder": _plain(t("friend.tags_hint", lang), 150)}
    if data.tags:
        tags["initial_value"] = ", ".join(data.tags)
    note: dict[str, Any] = {"type": "plain_text_input", "action_id": "note", "multiline": True, "max_length": 3000}
    if data.note:
        note["initial_value"] = data.note
    blocks.append({"type": "input", "block_id": "tags", "optional": True, "label": _plain(t("friend.tags", lang)), "element": tags})
    blocks.append({"type": "input", "block_id": "note", "optional": True, "label": _plain(t("friend.note", lang)), "element": note})
    blocks.extend(extra or [])
    return {
        "type": "modal", "callback_id": FRIEND_MODAL, "private_metadata": conv_id,
        "title": _plain(t("friend.title", lang), 24), "submit": _plain(t("modal.submit", lang), 24),
        "close": _plain(t("modal.cancel", lang), 24), "blocks": blocks,
    }


def submitted_values(view: dict[str, Any]) -> dict[str, Any]:
    """{"fields": {key: raw}, "tags": raw, "note": raw} from a submitted friend modal."""
    state = (view.get("state") or {}).get("values") or {}
    out: dict[str, Any] = {"fields": {}, "tags": "", "note": ""}
    for block_id, actions in state.items():
        v = (actions or {}).get(block_id) or {}
        raw = v.get("value") or v.get("selected_date") or (v.get("selected_option") or {}).get("value") or ""
        if block_id.startswith("f."):
            out["fields"][block_id[2:]] = raw
        elif block_id in ("tags", "note"):
            out[block_id] = raw
    return out


def friend_results(rows: list[tuple[Any, FriendData]], fdefs_of, link_of, lang: str, query: str, total: int) -> tuple[str, list[dict]]:
    """/friend's answer: one line per conversation with a link to its thread."""
    if not rows:
        text = t("friend.search.none", lang, query=query)
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    header = t("friend.search.header", lang, query=query, count=total)
    lines = []
    for conv, data in rows[:MAX_RESULTS]:
        link = link_of(conv)
        title = f"#{conv.number} {mrkdwn.escape(conv.name or t('unknown_name', lang))}"
        head = f"<{link}|{title}>" if link else title
        info = summary(data, fdefs_of(conv.account), lang, limit=200)
        lines.append(f"• {head}" + (f"  ·  {mrkdwn.escape(info)}" if info else ""))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{header}*"}}]
    chunk: list[str] = []
    for line in lines:  # sections of at most 3000 characters
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    if total > MAX_RESULTS:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("friend.search.more", lang, shown=MAX_RESULTS, total=total)}]})
    return header, blocks
