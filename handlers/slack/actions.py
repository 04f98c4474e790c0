"""Interactivity: the parent message's controls and /pending's "more" button."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bridge.engine import work
from bridge.i18n import t
from bridge.relay.undo import ORIGIN as UNDO_ORIGIN, resume_item
from bridge.slack_ui.automation import ACTION_REMINDERS
from bridge.runtime import Runtime
from bridge.slack_ui.canned import ACTION_CANNED_CANCEL
from bridge.slack_ui.correction import ACTION_CORRECTION
from bridge.slack_ui.free_reply import ACTION_SEND_NOW
from bridge.slack_ui.parent import ACTION_ASSIGN, ACTION_CLAIM, ACTION_MARK, ACTION_RESOLVE, ACTION_TYPING
from bridge.slack_ui.pending import MORE_ACTION_ID, PendingFilter
from handlers.slack.ops import conversation_of_message, enqueue_op, is_member, visible_accounts
from handlers.slack.pending import pending_response


def _op_id(body: dict[str, Any], action: dict[str, Any]) -> str:
    return f"act-{body['user']['id']}-{action.get('action_ts', '')}".replace(".", "")


def register(app: App, rt: Runtime) -> None:
    def enqueue(body: dict[str, Any], action: dict[str, Any], name: str, value: str, conv_id: str | None, source: str) -> None:
        if not conv_id:
            return
        channel = (body.get("channel") or {}).get("id", "")
        enqueue_op(rt, _op_id(body, action), conv_id, body["user"]["id"], name, value, source=source, channel=channel,
                   response_url=body.get("response_url", ""))

    def conv_of(body: dict[str, Any]) -> str | None:
        channel = (body.get("channel") or {}).get("id", "")
        ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts", "")
        return conversation_of_message(rt, channel, ts)

    def button(op: str):
        """A parent button: its value is the conversation id; the op needs no other value."""
        def handle_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            enqueue(body, action, op, "", action.get("value") or conv_of(body), "button")
        return handle_button

    for action_id, op in ((ACTION_CLAIM, "claim"), (ACTION_RESOLVE, "resolve"), (ACTION_TYPING, "typing")):
        app.action(action_id)(button(op))

    def authors_message(body: dict[str, Any], action: dict[str, Any], respond: Respond,
                        refusal: str) -> tuple[str, str, str, str] | None:
        """(channel, ts, thread_ts, user) of a button on an ephemeral about a staff message — whose value
        names the message, so a forged payload could name anyone's: only its author, a member of its
        triage channel, may use it; anyone else is told ``refusal``."""
        channel, _, rest = (action.get("value") or "").partition("|")
        ts, _, thread_ts = rest.partition("|")
        user = (body.get("user") or {}).get("id", "")
        if channel not in rt.accounts.channels() or not ts or not thread_ts:
            return None
        if rt.store.get_slack_message(channel, ts).get("author") != user or not is_member(rt, user, channel):
            if body.get("response_url"):
                respond(text=t(refusal, rt.settings.language), response_type="ephemeral", replace_original=False)
            return None
        return channel, ts, thread_ts, user

    @app.action(ACTION_CORRECTION)
    def handle_send_correction(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """訂正として送信: sends the edited text of a reply already sent, as a correction."""
        ack()
        found = authors_message(body, action, respond, "undo.correction_not_yours")
        if found is None:
            return
        channel, ts, thread_ts, user = found
        rt.inbox.accept("slack-fix", _op_id(body, action), work.slack_edit_stream(channel, thread_ts), work.SLACK_EDIT,
                        {"op": "correct", "channel": channel, "ts": ts, "thread_ts": thread_ts, "user": user})

    @app.action(ACTION_SEND_NOW)
    def handle_send_now(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """今すぐ送信（無料）: the author skips the rest of a reply's undo window so the friend's reply
        token is still fresh. The reply's scheduled send is queued now (bridge.relay.undo): the same
        item, so the window's own timer then finds a duplicate, and the send is claimed once anyway."""
        ack()
        found = authors_message(body, action, respond, "free.not_yours")
        if found is None:
            return
        channel, ts, _, user = found
        resume = resume_item(rt.store.get_slack_message(channel, ts))
        if rt.stores.held.send_now(channel, ts, user) == "waiting" and resume is not None:
            rt.inbox.accept(UNDO_ORIGIN, *resume)
        elif body.get("response_url"):
            respond(text=t("free.moot", rt.settings.language), response_type="ephemeral", replace_original=False)

    @app.action(ACTION_CANNED_CANCEL)
    def handle_canned_cancel(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """取り消し on a picked 定型文 waiting in its undo window: cancelled like a deleted reply."""
        ack()
        channel = (body.get("channel") or {}).get("id", "")
        container, message = body.get("container") or {}, body.get("message") or {}
        ts = container.get("message_ts") or message.get("ts") or ""
        thread_ts = container.get("thread_ts") or message.get("thread_ts") or ""
        if channel in rt.accounts.channels() and ts and thread_ts:
            rt.inbox.accept("slack-fix", _op_id(body, action), work.slack_edit_stream(channel, thread_ts), work.SLACK_EDIT,
                            {"op": "delete", "channel": channel, "ts": ts, "thread_ts": thread_ts, "text": "",
                             "previous_text": "", "user": body["user"]["id"], "source": "button"})

    @app.action(ACTION_REMINDERS)
    def handle_reminder_switch(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        value, _, conv_id = (action.get("value") or "").partition(":")
        conv_id = conv_id or conv_of(body) or ""
        if value in ("on", "off") and conv_id:
            op_id = _op_id(body, action)
            rt.inbox.accept("slack-op", op_id, work.line_stream(conv_id), work.AUTOMATION_OP,
                            {"op_id": op_id, "conv_id": conv_id, "actor": body["user"]["id"], "value": value})

    @app.action(ACTION_MARK)
    def handle_mark_select(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        value = (action.get("selected_option") or {}).get("value", "")
        if value:
            enqueue(body, action, "mark", value, conv_of(body), "select")

    @app.action(ACTION_ASSIGN)
    def handle_assign_select(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        enqueue(body, action, "assign", action.get("selected_user") or "", conv_of(body), "select")

    @app.action(MORE_ACTION_ID)
    def handle_pending_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        try:
            filt = PendingFilter.decode(action.get("value") or "")
        except ValueError:
            return
        # The same check as /pending itself: membership may have changed since the first page.
        user = (body.get("user") or {}).get("id", "")
        visible = visible_accounts(rt, user, (body.get("channel") or {}).get("id", ""))
        if not visible:
            respond(text=t("op.refused", rt.settings.language, channel=", ".join(
                f"<#{c}>" for c in sorted(rt.accounts.channels()))), response_type="ephemeral", replace_original=True)
            return
        text, blocks = pending_response(rt, filt, visible, (body.get("team") or {}).get("domain", ""))
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)
