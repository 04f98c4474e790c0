"""Forgetting a friend: their personal data deleted everywhere the bridge keeps it (APPI's right to deletion).

Asked for by an admin (``python -m bridge.admin forget``, or the 友だち情報 modal's admin action),
it runs as a FORGET work item on the conversation's LINE stream, so it is ordered with the
conversation's other work: what the friend sent before is processed (and then deleted), what
they send afterwards starts a new conversation with a new number. Idempotent: a retried item
deletes what is left and records the audit once.

Deleted: the conversation state and every index (/pending, name index, number map, tags and
fields), 友だち情報, notes, the archive of messages and the media only this friend refers to,
held sends and queued work of its thread, its dead letters, follow records, message maps,
dedupe keys carrying its id, the forward queues' copies of its webhooks; when asked, the
bridge's own Slack posts of the thread (chat.delete, their files too). Staff members' own
messages cannot be deleted by the bot: they are counted and reported. The audit (``forgotten``)
keeps who asked, when and how — no name, no text, no LINE id.
"""
from __future__ import annotations

import logging
from typing import Any

from bridge import clock
from bridge.archive.media import MediaArchive
from bridge.engine import work
from bridge.i18n import slack_t
from bridge.model import Conversation, DeliveryFailed
from bridge.privacy.media import discard
from bridge.services import Component, Services

log = logging.getLogger(__name__)


def forget_payload(op_id: str, conv_id: str, by: str, via: str, slack_posts: bool, channel: str = "") -> dict[str, Any]:
    """A FORGET work item (``via`` "slack" or "cli"; ``channel``: where to tell ``by`` the outcome)."""
    return {"op_id": op_id, "conv_id": conv_id, "by": by, "via": via, "slack_posts": bool(slack_posts),
            "channel": channel}


class Forgetting(Component):
    def __init__(self, services: Services, archive: MediaArchive | None):
        super().__init__(services)
        self.forgets = services.stores.forget
        self.archive = archive

    def handle_item(self, payload: dict[str, Any]) -> None:
        op_id, conv_id = str(payload["op_id"]), str(payload["conv_id"])
        # Two steps (bridge.store.steps): when the confirmation has to wait for Slack (RetryLater),
        # the retry finds the friend forgotten and resumes at the confirmation, with the counts.
        steps = self.store.steps(f"forget-{op_id}")
        told = steps.recall("forgot")
        if told is None:
            if self.forgets.was_forgotten(op_id):
                return
            told = steps.once("forgot", lambda: self._forget(op_id, conv_id, payload))
        steps.do("told", lambda: self._tell(payload, told["number"], told["posts"]))
        steps.close()

    def _forget(self, op_id: str, conv_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Everything deleted and the audit recorded; what the confirmation says (the number, the posts)."""
        conv = self.store.get_conversation(conv_id)
        line_id = conv.line_id if conv else conv_id.partition("-")[2]
        posts = {"posts_deleted": 0, "posts_kept": 0}
        if payload.get("slack_posts") and conv and conv.channel and conv.thread_ts:
            posts = self.delete_posts(conv)  # first: the thread is found through the conversation
        result = self.forgets.forget(conv_id, line_id, keep_stream=work.line_stream(conv_id))
        files = discard(self.archive, result.media)
        summary = {**result.summary(), "files": files, **posts}
        self.forgets.record_forgotten(op_id, str(payload.get("by") or ""), str(payload.get("via") or ""),
                                      clock.now(), summary)
        log.info("forgot a friend (op %s): %s", op_id, summary)
        return {"number": conv.number if conv else "?", "posts": posts}

    def delete_posts(self, conv: Conversation) -> dict[str, int]:
        """chat.delete every message the bot posted in the conversation's thread (parent last), with
        the files it shared there; staff members' own messages are counted, not deleted."""
        ident = self.slack.bot_identity()
        ours = {ident.get("bot_id") or "-", ident.get("user_id") or "-"}
        deleted = kept = 0
        try:
            messages = self.slack.thread_messages(conv.channel, conv.thread_ts)
        except DeliveryFailed as exc:  # e.g. the bot left the channel: the data in the bridge still goes
            log.warning("the thread of a forgotten friend could not be read (%s); its Slack posts stay", exc.reason)
            return {"posts_deleted": 0, "posts_kept": 0}
        replies = [m for m in messages if m.get("ts") != conv.thread_ts]
        parent = [m for m in messages if m.get("ts") == conv.thread_ts]
        for message in replies + parent:
            if not ({message.get("bot_id"), message.get("user")} & ours):
                kept += 1
                continue
            try:
                for f in message.get("files") or []:
                    if f.get("id"):
                        self.slack.delete_file(f["id"])
                deleted += self.slack.delete_message(conv.channel, message["ts"])
            except DeliveryFailed as exc:  # refused for this one message: counted as left, the rest goes on
                log.warning("a post of a forgotten friend's thread could not be deleted: %s", exc.reason)
                kept += 1
        return {"posts_deleted": deleted, "posts_kept": kept}

    def _tell(self, payload: dict[str, Any], number: Any, posts: dict[str, int]) -> None:
        by, channel = str(payload.get("by") or ""), str(payload.get("channel") or "")
        if payload.get("via") != "slack" or not by or not channel:
            return
        key = "forget.done_posts" if payload.get("slack_posts") else "forget.done"
        text = slack_t(key, self.lang, number=number, deleted=posts["posts_deleted"], kept=posts["posts_kept"])
        try:
            self.slack.post_ephemeral(channel, by, text)
        except DeliveryFailed as exc:
            log.warning("could not tell %s that the friend was forgotten: %s", by, exc)
