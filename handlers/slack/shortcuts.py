"""The message shortcut (any message of a conversation thread) and its modal."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bridge.friends.canned import CannedReplies
from bridge.i18n import t
from bridge.runtime import Runtime
from bridge.slack_ui.canned import BLOCK_CANNED, BLOCK_EXTRA
from bridge.slack_ui.parent import MODAL_ACTIONS, SHORTCUT_ACTIONS, actions_modal, info_modal
from handlers.slack.ops import conversation_of_message, enqueue_canned_pick, enqueue_op, is_member


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    @app.shortcut(SHORTCUT_ACTIONS)
    def handle_conversation_shortcut(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        conv_id = conversation_of_message(rt, channel, message.get("thread_ts") or message.get("ts", "")) \
            or conversation_of_message(rt, channel, message.get("ts", ""))
        conv = rt.store.get_conversation(conv_id) if conv_id else None
        if conv is None:
            view = info_modal(t("modal.title", lang), t("modal.not_a_conversation", lang))
        elif not is_member(rt, (body.get("user") or {}).get("id", ""), conv.channel):
            # Name, number, mark, assignee and the account's 定型文: for the conversation's own
            # triage channel only, whichever channel the message was seen in (or a payload forged).
            view = info_modal(t("modal.title", lang), t("op.refused", lang, channel=f"<#{conv.channel}>"))
        else:
            canned = CannedReplies(rt.stores.canned, rt.crm).texts(conv.account)
            view = actions_modal(conv, rt.marks, lang, canned)
        # views.open must happen while the trigger_id is valid (3 s), so it is called here.
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(MODAL_ACTIONS)
    def handle_conversation_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        conv_id = view.get("private_metadata") or ""
        values = (view.get("state") or {}).get("values") or {}
        quick = [o["value"] for o in ((values.get("quick") or {}).get("quick") or {}).get("selected_options") or []]
        mark = (((values.get("mark") or {}).get("mark") or {}).get("selected_option") or {}).get("value")
        assignee = ((values.get("assignee") or {}).get("assignee") or {}).get("selected_user")
        picked = (((values.get(BLOCK_CANNED) or {}).get(BLOCK_CANNED) or {}).get("selected_option") or {}).get("value")
        extra = ((values.get(BLOCK_EXTRA) or {}).get(BLOCK_EXTRA) or {}).get("value") or ""
        ops: list[tuple[str, str]] = []
        if "claim" in quick:
            ops.append(("claim", ""))
        elif assignee:
            ops.append(("assign", assignee))
        if mark:
            ops.append(("mark", mark))
        if "resolve" in quick:
            ops.append(("resolve", ""))
        user = body["user"]["id"]
        conv = rt.store.get_conversation(conv_id) if conv_id else None
        if conv is None or not is_member(rt, user, conv.channel):
            return  # private_metadata names the conversation: checked again, not trusted (the workers check too)
        op_id = f"modal-{view.get('id')}-{view.get('hash', '')}".replace(".", "")
        for i, (action, value) in enumerate(ops):
            enqueue_op(rt, f"{op_id}-{i}", conv_id, user, action, value, source="modal", channel=conv.channel)
        if picked and conv.thread_ts:  # sent like a typed reply: posted in the thread, then the undo window
            enqueue_canned_pick(rt, f"{op_id}-canned", conv.channel, conv.thread_ts, conv_id, user, picked, extra)
