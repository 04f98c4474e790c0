"""友だち情報: the modal (parent button, message shortcut) and /friend. Listeners only translate and enqueue."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bridge.engine import work
from bridge.friends.ops import parse_submission
from bridge.friends.search import find, load_rows
from bridge.i18n import t
from bridge.runtime import Runtime
from bridge.slack_ui.friends import ACTION_FRIEND, FRIEND_MODAL, SHORTCUT_FRIEND, friend_modal, friend_results, submitted_values
from bridge.slack_ui.forget import forget_button
from bridge.slack_ui.parent import info_modal
from bridge.store.friends import NAMES_BACKFILL
from handlers.slack.ops import conversation_of_message, is_member, permalink_for, visible_accounts


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    def open_modal(client: WebClient, trigger_id: str, user: str, conv_id: str | None) -> None:
        conv = rt.store.get_conversation(conv_id) if conv_id else None
        if conv is None:
            view = info_modal(t("friend.title", lang), t("friend.not_a_conversation", lang))
        elif not is_member(rt, user, conv.channel):  # 友だち情報 is personal data
            view = info_modal(t("friend.title", lang), t("op.refused", lang, channel=conv.channel))
        else:
            data = rt.stores.friends.get(conv.conv_id)
            extra = [forget_button(conv.conv_id, lang)] if rt.crm.is_admin(user) else []  # admins only
            view = friend_modal(conv.conv_id, f"#{conv.number} {conv.name}", data, rt.crm.fields_of(conv.account), lang,
                                extra)
        client.views_open(trigger_id=trigger_id, view=view)  # within the trigger's 3 seconds

    @app.action(ACTION_FRIEND)
    def handle_friend_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        open_modal(client, body["trigger_id"], body["user"]["id"], action.get("value"))

    @app.shortcut(SHORTCUT_FRIEND)
    def handle_friend_shortcut(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        conv_id = conversation_of_message(rt, channel, message.get("thread_ts") or message.get("ts", "")) \
            or conversation_of_message(rt, channel, message.get("ts", ""))
        open_modal(client, body["trigger_id"], body["user"]["id"], conv_id)

    @app.view(FRIEND_MODAL)
    def handle_friend_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        conv = rt.store.get_conversation(view.get("private_metadata") or "")
        if conv is None:
            ack()
            return
        values = submitted_values(view)
        _, errors = parse_submission(rt.crm, conv.account, values, lang)
        if errors:  # shown under the inputs; nothing is saved
            ack(response_action="errors", errors={("tags" if k == "tags" else f"f.{k}"): v for k, v in errors.items()})
            return
        ack()
        op_id = f"friend-{view.get('id', '')}-{view.get('hash', '')}".replace(".", "")
        payload = {"op_id": op_id, "conv_id": conv.conv_id, "actor": body["user"]["id"], "values": values,
                   "source": "modal", "channel": conv.channel}
        rt.inbox.accept("slack-friend", op_id, work.line_stream(conv.conv_id), work.FRIEND_EDIT, payload)

    @app.command("/friend")
    def handle_friend_command(ack: Ack, command: dict[str, Any]) -> None:
        query = (command.get("text") or "").strip()
        if not query:
            ack(text=t("friend.search.usage", lang), response_type="ephemeral")
            return
        visible = visible_accounts(rt, command["user_id"], command.get("channel_id", ""))
        if not visible:
            ack(text=t("op.refused", lang, channel=", ".join(f"<#{c}>" for c in sorted(rt.accounts.channels()))),
                response_type="ephemeral")
            return
        ids, total = find(rt.stores, rt.crm, visible, query)
        rows = load_rows(rt.stores, ids)
        text, blocks = friend_results(rows, rt.crm.fields_of, permalink_for(rt, command.get("team_domain", "")),
                                      lang, query, total)
        if not rt.backfills.get(NAMES_BACKFILL).done():  # names of older conversations not all indexed yet
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("friend.search.indexing", lang)}]})
        ack(text=text, blocks=blocks, response_type="ephemeral")
