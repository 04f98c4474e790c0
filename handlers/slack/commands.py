"""Slash commands. Slack cannot run them inside threads, so they take the conversation number.

``/claim 12`` · ``/assign 12 @user`` · ``/mark 12 クレーム`` · ``/resolve 12`` · ``/pending [filters]``
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App

from bridge.friends.search import encode_terms, split_terms
from bridge.i18n import t
from bridge.slack_ui.pending import parse_pending_args
from bridge.runtime import Runtime
from handlers.slack.ops import enqueue_op, visible_accounts
from handlers.slack.pending import pending_response

NUMBER = re.compile(r"^#?(\d{1,9})$")
USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    def marks_list() -> str:
        return "、".join(m.label(lang) for m in rt.marks.ordered()) if lang == "ja" else \
            ", ".join(m.label(lang) for m in rt.marks.ordered())

    def parse(ack: Ack, command: dict[str, Any], usage: str, nargs: int) -> tuple[Any, list[str]] | None:
        words = (command.get("text") or "").split()
        match = NUMBER.match(words[0]) if words else None
        if not match or len(words) < nargs + 1:
            ack(text=t(usage, lang, marks=marks_list()), response_type="ephemeral")
            return None
        conv = rt.store.get_by_number(match.group(1))
        if conv is None:
            ack(text=t("cmd.no_conversation", lang, number=match.group(1)), response_type="ephemeral")
            return None
        return conv, words[1:]

    def submit(ack: Ack, command: dict[str, Any], conv, action: str, value: str = "") -> None:
        enqueue_op(rt, f"cmd-{command.get('trigger_id') or command.get('user_id')}", conv.conv_id, command["user_id"],
                   action, value, source="command", response_url=command.get("response_url", ""),
                   channel=command.get("channel_id", ""))
        ack()  # the worker answers through response_url once the change is applied (or refused)

    @app.command("/claim")
    def handle_claim_command(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse(ack, command, "cmd.usage.claim", 0)
        if parsed:
            submit(ack, command, parsed[0], "claim")

    @app.command("/resolve")
    def handle_resolve_command(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse(ack, command, "cmd.usage.resolve", 0)
        if parsed:
            submit(ack, command, parsed[0], "resolve")

    @app.command("/assign")
    def handle_assign_command(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse(ack, command, "cmd.usage.assign", 1)
        if not parsed:
            return
        user = USER.match(parsed[1][0])
        if not user:
            ack(text=t("cmd.usage.assign", lang), response_type="ephemeral")
            return
        submit(ack, command, parsed[0], "assign", user.group(1))

    @app.command("/mark")
    def handle_mark_command(ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse(ack, command, "cmd.usage.mark", 1)
        if not parsed:
            return
        wanted = " ".join(parsed[1])
        mark = rt.marks.find(wanted)
        if mark is None:
            ack(text=t("cmd.unknown_mark", lang, mark=wanted, marks=marks_list()), response_type="ephemeral")
            return
        submit(ack, command, parsed[0], "mark", mark.key)

    @app.command("/pending")
    def handle_pending_command(ack: Ack, command: dict[str, Any]) -> None:
        # Friends' names and messages are personal data: only the triage team may list them.
        visible = visible_accounts(rt, command["user_id"], command.get("channel_id", ""))
        if not visible:
            ack(text=t("op.refused", lang, channel=", ".join(f"<#{c}>" for c in sorted(rt.accounts.channels()))),
                response_type="ephemeral")
            return
        # tag:VIP / 会員番号:123 filter by 友だち情報; the rest are /pending's own words.
        terms, rest = split_terms(command.get("text") or "", rt.crm, visible)
        filt = parse_pending_args(rest, rt.marks, command["user_id"], lang, rt.accounts.keys())
        filt = replace(filt, friend=encode_terms(terms)) if terms and not filt.error else filt
        if filt.error:
            ack(text=filt.error, response_type="ephemeral")
            return
        text, blocks = pending_response(rt, filt, visible, command.get("team_domain", ""))
        ack(text=text, blocks=blocks, response_type="ephemeral")
