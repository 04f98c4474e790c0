"""Forgetting a friend from Slack (admins only): the 友だち情報 modal's button → a confirmation modal →
a FORGET work item on the conversation's stream (bridge.privacy.forget). Listeners only check and enqueue."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bridge.engine import work
from bridge.i18n import t
from bridge.privacy.forget import forget_payload
from bridge.runtime import Runtime
from bridge.slack_ui.forget import ACTION_FORGET, FORGET_MODAL, forget_modal, wants_slack_posts
from bridge.slack_ui.parent import info_modal
from handlers.slack.ops import is_member


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    def refusal(user: str, conv) -> str | None:
        """Why ``user`` may not forget ``conv`` (None: they may): admins who are members of its channel."""
        if conv is None:
            return t("forget.gone", lang)
        if not rt.crm.is_admin(user):
            return t("admin.only", lang)
        if not is_member(rt, user, conv.channel):
            return t("op.refused", lang, channel=conv.channel)
        return None

    @app.action(ACTION_FORGET)
    def handle_forget_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        conv = rt.store.get_conversation(action.get("value") or "")
        why = refusal(user, conv)
        view = info_modal(t("forget.title", lang), why) if why else \
            forget_modal(conv.conv_id, conv.number, conv.name or t("unknown_name", lang), lang)
        if (body.get("container") or {}).get("type") == "view":
            client.views_push(trigger_id=body["trigger_id"], view=view)  # on top of the 友だち情報 modal
        else:
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(FORGET_MODAL)
    def handle_forget_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        conv = rt.store.get_conversation(view.get("private_metadata") or "")
        why = refusal(user, conv)
        if why:
            ack(response_action="update", view=info_modal(t("forget.title", lang), why))
            return
        op_id = f"forget-{view.get('id', '')}-{view.get('hash', '')}".replace(".", "")
        payload = forget_payload(op_id, conv.conv_id, user, "slack", wants_slack_posts(view), conv.channel)
        rt.inbox.accept("slack-forget", op_id, work.line_stream(conv.conv_id), work.FORGET, payload)
        # The modal says it is under way; the worker tells the admin (ephemeral) when it is done.
        ack(response_action="update", view=info_modal(t("forget.title", lang), t("forget.queued", lang, number=conv.number)))
