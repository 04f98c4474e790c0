"""/export 12 (one conversation, members of its triage channel) or /export <from> <to> (all, admins only);
a last word ``media`` (メディア) adds the archived media as a zip."""
from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from bridge.engine import work
from bridge.friends.export import parse_day
from bridge.i18n import t
from bridge.runtime import Runtime
from handlers.slack.ops import is_member

NUMBER = re.compile(r"^#?(\d{1,9})$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MEDIA_WORDS = ("media", "メディア")


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    @app.command("/export")
    def handle_export_command(ack: Ack, command: dict[str, Any]) -> None:
        user = command["user_id"]
        words = (command.get("text") or "").split()
        media = bool(words) and words[-1].lower() in MEDIA_WORDS
        if media:
            words = words[:-1]
        export_id = (command.get("trigger_id") or "").replace(".", "") or user
        payload: dict[str, Any] = {"export_id": export_id, "requester": user, "media": media}
        if len(words) == 1 and NUMBER.match(words[0]):
            conv = rt.store.get_by_number(NUMBER.match(words[0]).group(1))
            if conv is None:
                ack(text=t("cmd.no_conversation", lang, number=words[0].lstrip("#")), response_type="ephemeral")
                return
            if not is_member(rt, user, conv.channel):
                ack(text=t("op.refused", lang, channel=conv.channel), response_type="ephemeral")
                return
            payload.update(conv_id=conv.conv_id, label=f"{conv.number}")
        elif len(words) == 2 and all(DAY.match(w) for w in words):
            if not rt.crm.is_admin(user):
                ack(text=t("admin.only", lang), response_type="ephemeral")
                return
            try:
                payload.update(since=parse_day(words[0]), until=parse_day(words[1], end=True), label=f"{words[0]}_{words[1]}")
            except ValueError:
                ack(text=t("export.usage", lang), response_type="ephemeral")
                return
        else:
            ack(text=t("export.usage", lang), response_type="ephemeral")
            return
        rt.inbox.accept("slack-export", export_id, work.export_stream(export_id), work.EXPORT, payload)
        ack(text=t("export.started", lang), response_type="ephemeral")
