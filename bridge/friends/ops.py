"""友だち情報 edits applied by a worker: validated, saved with their index sets, audited, shown in the thread.

An edit arrives as a ``friend_edit`` work item on the conversation's own stream (so it
is ordered with the conversation's other changes), always with the acting Slack user.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from bridge.access import is_channel_member
from bridge.friends.canned import CannedReplies, expand_reply
from bridge.friends.config import CrmConfig
from bridge.friends.values import FriendData, ValueError_, parse_tags, parse_value, summary
from bridge.i18n import Mrkdwn, slack_t, t
from bridge.model import Conversation, DeliveryFailed
from bridge.ports import ParentRefresher
from bridge.services import Component, Services

log = logging.getLogger(__name__)


def parse_submission(crm: CrmConfig, account: str, raw: dict[str, Any], lang: str) -> tuple[FriendData, dict[str, str]]:
    """The 友だち情報 a person submitted (raw strings by field key, "tags", "note"); errors by field key."""
    data = FriendData()
    errors: dict[str, str] = {}
    for fdef in crm.fields_of(account):
        try:
            value = parse_value(fdef, str((raw.get("fields") or {}).get(fdef.key) or ""))
        except ValueError_ as exc:
            errors[fdef.key] = t("friend.error." + exc.code, lang, **exc.params)
            continue
        if value:
            data.fields[fdef.key] = value
    try:
        data.tags = parse_tags(raw.get("tags") or "")
    except ValueError_ as exc:
        errors["tags"] = t("friend.error." + exc.code, lang, **exc.params)
    data.note = str(raw.get("note") or "").strip()[:3000]
    return data, errors


def describe_changes(crm: CrmConfig, account: str, changes: dict, lang: str) -> str:
    """"会員番号: 123 → 456 · タグ +VIP −新規 · ノートを更新"."""
    parts: list[str] = []
    labels = {f.key: f.label(lang) for f in crm.fields_of(account)}
    empty = t("friend.empty_value", lang)
    for key, (old, new) in sorted((changes.get("fields") or {}).items()):
        parts.append(f"{labels.get(key, key)}: {old or empty} → {new or empty}")
    tags = [f"+{x}" for x in changes.get("tags_added", [])] + [f"−{x}" for x in changes.get("tags_removed", [])]
    if tags or changes.get("tags_renamed"):
        parts.append(t("friend.tags", lang) + " " + (" ".join(tags) or ", ".join(changes.get("tags_renamed", []))))
    if changes.get("note"):
        parts.append(t("friend.note_changed", lang))
    return " · ".join(parts)


def friend_summary(services: Services, conv: Conversation, lang: str) -> str:
    """The compact line shown on the thread parent ("" when there is nothing to show)."""
    crm = services.crm
    data = services.stores.friends.get(conv.conv_id)
    return summary(data, crm.fields_of(conv.account), lang)


class Friends(Component):
    def __init__(self, services: Services, parents: ParentRefresher):
        super().__init__(services)
        self.parents = parents
        self.friends = services.stores.friends

    @property
    def crm(self) -> CrmConfig:
        return self.services.crm

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A ``friend_edit`` work item: {op_id, conv_id, actor, values: {fields, tags, note}, source, channel}."""
        conv = self.store.get_conversation(payload.get("conv_id", ""))
        if conv is None:
            return
        actor = payload.get("actor", "")
        if not is_channel_member(self.store, self.slack, actor, conv.channel):
            self._tell(actor, payload, t("op.refused", self.lang, channel=conv.channel), conv)
            return
        data, errors = parse_submission(self.crm, conv.account, payload.get("values") or {}, self.lang)
        if errors:  # the modal checked already; a config change in between can still make a value invalid
            self._tell(actor, payload, t("friend.rejected", self.lang, errors="; ".join(errors.values())), conv)
            return
        self.save(conv, data, actor, payload.get("source", "modal"), payload.get("op_id", ""))

    def save(self, conv: Conversation, data: FriendData, actor: str, source: str, op_id: str) -> dict:
        """Store the 友だち情報 and record the change (audit trail, a line in the thread, the parent).

        Each step once per edit (:mod:`bridge.store.steps`, by ``op_id``): the data is saved before
        the audit line is posted; when that post has to wait for the channel's turn (RetryLater),
        the retry finds nothing left to change — it resumes at the line with the recorded changes
        instead of returning with the edit unsaid."""
        steps = self.store.steps(f"friend-{op_id or 'unnamed'}")
        changes = steps.once("saved", lambda: self._save(conv, data, actor, source)) if op_id else \
            self._save(conv, data, actor, source)
        if changes:
            what = describe_changes(self.crm, conv.account, changes, self.lang)
            if conv.thread_ts and op_id:
                ts = steps.once("said", lambda: self.slack.post_once(
                    f"friend-{op_id}", conv.channel, slack_t("friend.audit", self.lang, actor=Mrkdwn(f"<@{actor}>"), what=what),
                    thread_ts=conv.thread_ts))
                self.store.link_slack_message(conv.channel, ts, conv.conv_id, "audit")
            self.parents.request(conv.conv_id)
        if op_id:
            steps.close()
        return changes

    def _save(self, conv: Conversation, data: FriendData, actor: str, source: str) -> dict:
        """The 友だち情報 saved, with its entry in the audit trail; what changed ({} when nothing did)."""
        changes = self.friends.save(conv.account, conv.conv_id, data, actor)
        if changes:
            self.store.add_event(conv.conv_id, {"at": time.time(), "actor": actor, "action": "friend", "source": source,
                                                "changes": changes})
        return changes

    def _tell(self, actor: str, payload: dict[str, Any], text: str, conv: Conversation) -> None:
        try:
            try:
                self.slack.post_ephemeral(payload.get("channel") or conv.channel, actor, text)
            except DeliveryFailed:
                self.slack.post_once(f"tell-{payload.get('op_id', '')}", actor, text)
        except DeliveryFailed as exc:
            log.warning("could not answer %s: %s", actor, exc)


def index_friend_name(services: Services, conv: Conversation) -> None:
    """A new conversation becomes findable by name with /friend."""
    if conv.name:
        services.stores.friends.index_name(conv.account, conv.conv_id, conv.name)


def expand_canned(services: Services, conv: Conversation, event: dict[str, Any]) -> tuple[str, list[str]]:
    """A staff reply with its 定型文 (``!key``) expanded: (text, keys used). See :mod:`bridge.friends.canned`."""
    user = event.get("user", "")
    return expand_reply(CannedReplies(services.stores.canned, services.crm), services.stores.friends, conv,
                        event.get("text") or "", lambda: services.slack.user_name(user) or "")


def canned_texts(services: Services, conv: Conversation) -> dict[str, str]:
    """The 定型文 of the conversation's account: key -> text (config first)."""
    return CannedReplies(services.stores.canned, services.crm).texts(conv.account)


def show_canned(services: Services, conv: Conversation, key: str, texts: list[str]) -> None:
    """Under a reply that used 定型文: the text the friend actually received."""
    lang = services.settings.language
    from bridge.text import mrkdwn

    body = mrkdwn.escape("\n".join(texts))
    quoted = "\n".join("> " + line for line in body.splitlines()) or ">"
    ts = services.slack.post_once(f"canned-{key}", conv.channel, t("canned.sent", lang, text=quoted),
                                  thread_ts=conv.thread_ts)
    services.store.link_slack_message(conv.channel, ts, conv.conv_id, "audit")
