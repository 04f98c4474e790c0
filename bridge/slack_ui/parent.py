"""Slack Block Kit layouts the bridge posts (plain dicts: no SDK objects)."""
from __future__ import annotations

import time

from bridge.humanize import waited
from bridge.i18n import t
from bridge.slack_ui.canned import picker_blocks
from bridge.triage.marks import MarkSet
from bridge.model import Conversation
from bridge.text import mrkdwn

# action_ids of the parent message's controls (handlers/slack/actions.py listens to them)
ACTION_CLAIM = "conv_claim"
ACTION_RESOLVE = "conv_resolve"
ACTION_MARK = "conv_mark"
ACTION_ASSIGN = "conv_assign"
ACTION_TYPING = "conv_typing"
SHORTCUT_ACTIONS = "conversation_actions"
MODAL_ACTIONS = "conversation_actions_modal"
ACTION_FRIEND = "conv_friend"      # opens the 友だち情報 modal (handlers/slack/friends.py)
ACTION_HISTORY = "conv_history"    # answers the clicker with their own history page link (handlers/slack/history.py)


def slack_date(ts: float, lang: str) -> str:
    """A time Slack renders in each viewer's own time zone, with a UTC fallback.

    https://api.slack.com/reference/surfaces/formatting#date-formatting
    """
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
    return f"<!date^{int(ts)}^{{date_short_pretty}} {{time}}|{fallback}>"


def status_line(conv: Conversation, marks: MarkSet, lang: str, now: float | None = None,
                badges: list[str] | None = None) -> str:
    now = now or time.time()
    mark = marks.effective(conv.mark)
    assignee = f"<@{conv.assignee}>" if conv.assignee else t("parent.nobody", lang)
    parts = [f"*{mark.display(lang)}*", t("parent.assignee", lang, assignee=assignee)]
    if conv.waiting_since:
        parts.append(t("parent.waiting", lang, duration=waited(now - conv.waiting_since, lang),
                       since=slack_date(conv.waiting_since, lang)))
    if conv.last_message_at:
        parts.append(t("parent.last_message", lang, when=slack_date(conv.last_message_at, lang)))
    if conv.blocked:
        parts.append(t("parent.blocked", lang))
    parts.extend(badges or ())  # ⏰ overdue, 🌙 outside business hours (bridge.automation)
    return "  ·  ".join(parts)


def parent_message(conv: Conversation, marks: MarkSet, lang: str, now: float | None = None,
                   account_label: str = "", badges: list[str] | None = None,
                   extra_elements: list[dict] | None = None, friend_line: str = "",
                   first_text: str = "") -> tuple[str, list[dict]]:
    """The thread parent: who the chat is with, its number, a live status line and controls.

    ``account_label`` names the LINE account when several accounts share the triage channel.
    ``first_text`` is the friend's first message(s), already mrkdwn (escaped, one line per message
    with its time): a new conversation costs one Slack post, so the parent carries them and
    keeps them on every re-render.
    Returns (fallback text, blocks). Re-rendered with chat.update on every change.
    """
    name = mrkdwn.escape(conv.name or t("unknown_name", lang))
    title = t("parent.title", lang, number=conv.number, name=name)
    kind = t("parent.kind." + conv.source_type, lang)
    if account_label:
        kind = f"{mrkdwn.escape(account_label)} · {kind}"
    section: dict = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*{title}*  ·  {kind}\n"
                                           f"{status_line(conv, marks, lang, now, badges)}"},
    }
    if conv.picture_url:
        section["accessory"] = {"type": "image", "image_url": conv.picture_url, "alt_text": (conv.name or "LINE")[:2000]}  # plain text
    current = marks.effective(conv.mark)
    options = [{"text": {"type": "plain_text", "text": f"{m.label(lang)}"[:75]}, "value": m.key} for m in marks.ordered()][:100]
    mark_select: dict = {"type": "static_select", "action_id": ACTION_MARK, "options": options,
                         "placeholder": {"type": "plain_text", "text": t("control.mark", lang)}}
    initial = next((o for o in options if o["value"] == current.key), None)
    if initial:
        mark_select["initial_option"] = initial
    assign_select: dict = {"type": "users_select", "action_id": ACTION_ASSIGN,
                           "placeholder": {"type": "plain_text", "text": t("control.assign", lang)}}
    if conv.assignee:
        assign_select["initial_user"] = conv.assignee
    actions = {
        "type": "actions",
        "block_id": f"conv-{conv.number}",
        "elements": [
            {"type": "button", "action_id": ACTION_CLAIM, "value": conv.conv_id,
             "text": {"type": "plain_text", "text": t("control.claim", lang)}},
            {"type": "button", "action_id": ACTION_RESOLVE, "value": conv.conv_id, "style": "primary",
             "text": {"type": "plain_text", "text": t("control.resolve", lang)}},
            mark_select,
            assign_select,
        ],
    }
    if conv.is_one_to_one and not conv.blocked:
        # LINE's loading animation exists for 1:1 chats only.
        actions["elements"].insert(2, {"type": "button", "action_id": ACTION_TYPING, "value": conv.conv_id,
                                       "text": {"type": "plain_text", "text": t("control.typing", lang)}})
    actions["elements"].extend(extra_elements or ())  # e.g. the 返信待ち reminder switch (bridge.automation)
    actions["elements"].append({"type": "button", "action_id": ACTION_FRIEND, "value": conv.conv_id,
                                "text": {"type": "plain_text", "text": t("control.friend", lang)}})
    actions["elements"].append({"type": "button", "action_id": ACTION_HISTORY, "value": conv.conv_id,
                                "text": {"type": "plain_text", "text": t("control.history", lang)}})
    blocks = [section, actions, {"type": "context", "elements": [{"type": "mrkdwn", "text": t("parent.hint", lang)}]}]
    if conv.previous_thread_ts:  # a new thread of an old conversation: the earlier one is past Slack's view
        since = slack_date(float(conv.previous_thread_ts), lang)
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": t("parent.new_thread", lang, since=since)}]})
    if friend_line:  # 友だち情報 (tags, fields, note), compact
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn.clip(mrkdwn.escape(friend_line))}]})
    fallback = f"{title} — {current.label(lang)}" + (f" ({mrkdwn.escape(account_label)})" if account_label else "")
    if first_text:  # the friend's words come right under who they are (and in the notification)
        blocks.insert(1, {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn.clip(first_text)}})
        fallback += "\n" + mrkdwn.clip(first_text)
    return fallback, blocks


def actions_modal(conv: Conversation, marks: MarkSet, lang: str, canned: dict[str, str] | None = None) -> dict:
    """The modal opened by the message shortcut: the same actions as the parent's controls, and a
    定型文 to send (``canned``: the account's 定型文, key -> text)."""
    mark_options = [{"text": {"type": "plain_text", "text": m.label(lang)[:75]}, "value": m.key} for m in marks.ordered()][:100]
    current = marks.effective(conv.mark)
    mark_element: dict = {"type": "static_select", "action_id": "mark", "options": mark_options}
    initial = next((o for o in mark_options if o["value"] == current.key), None)
    if initial:
        mark_element["initial_option"] = initial
    assignee_element: dict = {"type": "users_select", "action_id": "assignee"}
    if conv.assignee:
        assignee_element["initial_user"] = conv.assignee
    claim_options = [
        {"text": {"type": "plain_text", "text": t("modal.claim_me", lang)}, "value": "claim"},
        {"text": {"type": "plain_text", "text": t("modal.resolve", lang)}, "value": "resolve"},
    ]
    name = conv.name or t("unknown_name", lang)
    return {
        "type": "modal",
        "callback_id": MODAL_ACTIONS,
        "private_metadata": conv.conv_id,
        "title": {"type": "plain_text", "text": t("modal.title", lang)[:24]},
        "submit": {"type": "plain_text", "text": t("modal.submit", lang)[:24]},
        "close": {"type": "plain_text", "text": t("modal.cancel", lang)[:24]},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*#{conv.number} {mrkdwn.escape(name)}*"}},
            {"type": "input", "block_id": "quick", "optional": True, "label": {"type": "plain_text", "text": t("modal.quick", lang)},
             "element": {"type": "checkboxes", "action_id": "quick", "options": claim_options}},
            {"type": "input", "block_id": "mark", "optional": True, "label": {"type": "plain_text", "text": t("control.mark", lang)},
             "element": mark_element},
            {"type": "input", "block_id": "assignee", "optional": True, "label": {"type": "plain_text", "text": t("control.assign", lang)},
             "element": assignee_element},
            {"type": "divider"},
            *picker_blocks(canned or {}, lang),
        ],
    }


def info_modal(title: str, text: str) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24]},
            "close": {"type": "plain_text", "text": "OK"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
