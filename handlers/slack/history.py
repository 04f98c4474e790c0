"""``/history 12 [words]`` and the parent's 📜 履歴 button: a private (ephemeral) answer with the
asker's own signed link to the conversation's history page (:mod:`bridge.history.links`).

Only members of the conversation's triage channel get a link (friends' messages are personal
data); the page checks membership again whenever it is opened.
"""
from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bridge.history.links import history_url
from bridge.i18n import Mrkdwn, slack_t, t
from bridge.model import Conversation
from bridge.runtime import Runtime
from bridge.slack_ui.parent import ACTION_HISTORY
from handlers.slack.ops import is_member

NUMBER = re.compile(r"^#?(\d{1,9})$")


def link_text(rt: Runtime, conv: Conversation, user: str, query: str = "") -> str:
    """The ephemeral answer: the link, made for ``user`` only, and how long it is valid."""
    lang = rt.settings.language
    url = history_url(rt.settings, conv.conv_id, user, query)
    hours = max(1, round(rt.settings.history_link_ttl / 3600))
    if query:
        return slack_t("history.link.query", lang, url=Mrkdwn(url), number=conv.number, query=query[:100], hours=hours)
    return slack_t("history.link", lang, url=Mrkdwn(url), number=conv.number, hours=hours)


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    @app.command("/history")
    def handle_history_command(ack: Ack, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        match = NUMBER.match(words[0]) if words else None
        if not match:
            ack(text=t("history.usage", lang), response_type="ephemeral")
            return
        conv = rt.store.get_by_number(match.group(1))
        if conv is None:
            ack(text=t("cmd.no_conversation", lang, number=match.group(1)), response_type="ephemeral")
            return
        user = command["user_id"]
        if not is_member(rt, user, conv.channel):
            ack(text=t("op.refused", lang, channel=f"<#{conv.channel}>"), response_type="ephemeral")
            return
        ack(text=link_text(rt, conv, user, " ".join(words[1:])), response_type="ephemeral")

    @app.action(ACTION_HISTORY)
    def handle_history_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        conv = rt.store.get_conversation(action.get("value") or "")
        if conv is None or not user or not body.get("response_url"):
            return
        if not is_member(rt, user, conv.channel):
            text = t("op.refused", lang, channel=f"<#{conv.channel}>")
        else:
            text = link_text(rt, conv, user)
        respond(text=text, response_type="ephemeral", replace_original=False)
