"""Triage: who owns a conversation and what state it is in (claims, assignees, marks).

A change arrives as a *slack_op* work item (from a reaction, a button, a select, a slash
command or the shortcut's modal), always with the acting Slack user. Applying it:
check the actor may act (member of the triage channel), update the conversation and the
/pending indexes, record it in the audit trail, say it compactly in the thread, refresh
the parent's status line, and mirror it to LINE (read receipt + loading animation when
a person takes the chat).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from bridge.archive.recorder import Recorder
from bridge.i18n import Mrkdwn, slack_t, t
from bridge.model import Conversation, DeliveryFailed, RetryLater
from bridge.access import is_channel_member
from bridge.ports import ParentRefresher
from bridge.services import Component, Services

log = logging.getLogger(__name__)

UNMAPPED_GRACE = 15.0        # s a change aimed at a just-posted message waits for its link
LOADING_SECONDS = 30         # after a claim
LOADING_SECONDS_TYPING = 60  # after "writing a reply" (LINE's maximum; a sent reply ends it)


@dataclass(frozen=True)
class Op:
    """One requested change. ``op_id`` is unique per user action (idempotency of its effects)."""

    op_id: str
    conv_id: str
    actor: str
    action: str
    value: str = ""
    source: str = ""              # reaction | button | select | command | modal
    response_url: str = ""        # slash commands answer the actor here
    channel: str = ""             # where to show an ephemeral answer otherwise
    message_ts: str = ""          # set when conv_id is not known yet: the Slack message acted on
    requested_at: str = ""        # epoch of the request (how long to wait for the message's link)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "Op":
        return cls(**{k: str(payload.get(k) or "") for k in cls.__dataclass_fields__})


class TriageObserver(Protocol):
    """Told of every applied change (e.g. /stats records resolutions: bridge.automation)."""

    def on_triage_change(self, conv: Conversation, actor: str, changes: dict[str, Any]) -> None: ...


class Triage(Component):
    def __init__(self, services: Services, parents: ParentRefresher, observers: Sequence[TriageObserver] = ()):
        super().__init__(services)
        self.parents = parents
        self.observers = tuple(observers)
        self.history = Recorder(services)  # mark and assignee changes in the archive

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A work item: one triage change (see :class:`Op`)."""
        self.apply(Op.from_payload(payload))

    # -- lifecycle hooks called by the relay ---------------------------------------------
    def on_friend_message(self, conv: Conversation, sent_at: float) -> dict[str, Any]:
        """A new friend message: start the waiting clock if stopped; returns the mark change, if any."""
        self.store.friend_wrote(conv.conv_id, sent_at)
        changes: dict[str, Any] = {}
        if self.marks.state(conv.mark) in ("closed", "waiting"):
            # 対応済み reopens; 返信待ち (waiting for the friend) is answered: back to 要対応.
            changes["mark"] = self.marks.default_open
        return changes

    # -- applying a change ----------------------------------------------------------------
    def resolve(self, op: Op) -> Conversation | None:
        """The conversation of ``op``; a message the relay is still linking is waited for a few seconds."""
        if op.conv_id:
            return self.store.get_conversation(op.conv_id)
        conv = self.store.get_by_thread(op.channel, op.message_ts)
        if conv is None:
            conv_id = self.store.get_slack_message(op.channel, op.message_ts).get("conv_id")
            conv = self.store.get_conversation(conv_id) if conv_id else None
        if conv is None and time.time() - float(op.requested_at or 0) < UNMAPPED_GRACE:
            raise RetryLater("the message is not linked to a conversation yet", delay=1.0)
        return conv

    def apply(self, op: Op) -> None:
        conv = self.resolve(op)
        if conv is None:
            log.info("op %s for unknown conversation %s ignored", op.op_id, op.conv_id)
            return
        if not self.is_member(op.actor, conv.channel):
            self.tell(op, t("op.refused", self.lang, channel=f"<#{conv.channel}>"), conv.channel)
            return
        if op.action == "typing":
            # "A reply is being prepared": the friend sees the loading animation; no state changes.
            self.show_loading(conv, LOADING_SECONDS_TYPING)
            return
        changes, audit = self._changes(conv, op)
        if not changes:
            applied = self.store.get_record("op", op.op_id)
            if applied.get("audit") and not applied.get("said"):
                # Applied by an earlier attempt whose audit post then had to wait for the channel's
                # turn (RetryLater): say it now, or the change would happen silently.
                self._say(conv, op, applied["audit"], json.loads(applied.get("changes") or "{}"))
                return
            if op.source == "command":
                self.tell(op, slack_t("op.done", self.lang, number=conv.number, name=conv.name, what=Mrkdwn(self._describe_state(conv))),
                          conv.channel)
            return
        self.store.set_record("op", op.op_id, audit=audit, changes=json.dumps(changes))
        self.store.update_conversation(conv.conv_id, **changes)
        self.backlog.reindex(conv.conv_id)
        for observer in self.observers:
            observer.on_triage_change(conv, op.actor, changes)
        self.store.add_event(conv.conv_id, {"at": time.time(), "actor": op.actor, "action": op.action, "value": op.value,
                                            "source": op.source, "changes": changes})
        self._say(conv, op, audit, changes)

    def _say(self, conv: Conversation, op: Op, audit: str, changes: dict[str, Any]) -> None:
        """The applied change in the thread, the archive, the parent and on LINE (a retry resumes here)."""
        ts = ""
        if conv.thread_ts:
            ts = self.slack.post_once(f"op-{op.op_id}", conv.channel, audit, thread_ts=conv.thread_ts)
            self.store.link_slack_message(conv.channel, ts, conv.conv_id, "audit")
        self.record(conv.conv_id, op.op_id, changes, float(ts) if ts else time.time(), op.actor)
        self.parents.request(conv.conv_id)
        new_assignee = changes.get("assignee")
        if new_assignee:
            self.mirror_claim_to_line(conv)
        if op.source == "command":
            self.tell(op, slack_t("op.done", self.lang, number=conv.number, name=conv.name, what=Mrkdwn(audit)), conv.channel)
        self.store.set_record("op", op.op_id, said="1")

    def record(self, conv_id: str, op_id: str, changes: dict[str, Any], at: float, actor: str = "") -> None:
        """Mark and assignee changes in the archive (the new value as people read it)."""
        if "mark" in changes:
            self.history.event(conv_id, f"{op_id}:mark", "mark", at, self.marks.effective(changes["mark"]).display(self.lang),
                               actor)
        if "assignee" in changes:
            who = changes["assignee"]
            self.history.event(conv_id, f"{op_id}:assignee", "assignee", at,
                               (self.history.name_of(who) if who else t("parent.nobody", self.lang)), actor)

    def _changes(self, conv: Conversation, op: Op) -> tuple[dict[str, Any], str]:
        actor = f"<@{op.actor}>"
        if op.action == "claim":
            if conv.assignee == op.actor:
                return {}, ""
            return {"assignee": op.actor}, t("op.claim", self.lang, actor=actor)
        if op.action == "unclaim":
            if conv.assignee != op.actor:
                return {}, ""  # removing someone else's 🙋 does not unassign them
            return {"assignee": ""}, t("op.unclaim", self.lang, actor=actor)
        if op.action == "assign":
            if conv.assignee == op.value:
                return {}, ""
            if not op.value:
                return {"assignee": ""}, t("op.unassign", self.lang, actor=actor)
            return {"assignee": op.value}, t("op.assign", self.lang, actor=actor, assignee=f"<@{op.value}>")
        if op.action == "resolve" or (op.action == "mark" and self.marks.state(op.value) == "closed"):
            target = self.marks.resolved if op.action == "resolve" else op.value
            if conv.mark == target:
                return {}, ""
            return {"mark": target, "waiting_since": 0}, t("op.resolve", self.lang, actor=actor)
        if op.action == "mark":
            mark = self.marks.get(op.value)
            if mark is None or conv.mark == mark.key:
                return {}, ""
            return {"mark": mark.key}, t("op.mark", self.lang, actor=actor, mark=mark.display(self.lang))
        log.warning("unknown triage action %r", op.action)
        return {}, ""

    def _describe_state(self, conv: Conversation) -> str:
        mark = self.marks.effective(conv.mark).display(self.lang)
        who = f"<@{conv.assignee}>" if conv.assignee else t("parent.nobody", self.lang)
        return f"{mark} · {t('parent.assignee', self.lang, assignee=who)}"

    # -- permissions ----------------------------------------------------------------------
    def is_member(self, user_id: str, channel: str) -> bool:
        """Only members of the conversation's triage channel may change it."""
        return is_channel_member(self.store, self.slack, user_id, channel)

    def tell(self, op: Op, text: str, channel: str) -> None:
        """An answer only the actor sees: via response_url when the interaction has one, else an
        ephemeral message; someone outside the channel cannot receive an ephemeral there
        (Slack answers user_not_in_channel), so they get it in the app's DM instead."""
        try:
            if op.response_url:
                self.slack.respond(op.response_url, text)
                return
            try:
                self.slack.post_ephemeral(op.channel or channel, op.actor, text)
            except DeliveryFailed as exc:
                if exc.reason not in ("user_not_in_channel", "channel_not_found", "not_in_channel"):
                    raise
                self.slack.post_once(f"tell-{op.op_id}", op.actor, text)
        except DeliveryFailed as exc:
            log.warning("could not answer %s: %s", op.actor, exc)

    # -- mirrored to LINE -------------------------------------------------------------------
    def mirror_claim_to_line(self, conv: Conversation) -> None:
        """A person took the chat: the friend now sees 既読 and, in 1:1 chats, the loading animation.

        Read receipts are sent now, not when the webhook arrived, so 既読 means a human read it.
        Failures are logged and never block the claim.
        """
        fresh = self.store.get_conversation(conv.conv_id) or conv
        token = self.store.take_mark_as_read_token(conv.conv_id)
        if token:
            try:
                self.line_of(conv).mark_as_read(token)
            except (DeliveryFailed, RetryLater) as exc:
                log.warning("markAsRead for %s failed: %s", conv.conv_id, exc)
        if fresh.waiting_since:
            self.show_loading(fresh, LOADING_SECONDS)

    def show_loading(self, conv: Conversation, seconds: int) -> None:
        """LINE's loading animation (1:1 chats only, 5–60 s); failures are logged, never blocking."""
        if not conv.is_one_to_one or conv.blocked:
            return
        try:
            self.line_of(conv).show_loading(conv.line_id, seconds)
        except (DeliveryFailed, RetryLater) as exc:
            log.warning("loading animation for %s failed: %s", conv.conv_id, exc)

