"""Forgetting a friend: their personal data deleted everywhere the bridge keeps it (APPI's right to deletion).

Asked for by an admin (``python -m bridge.admin forget``, or the 友だち情報 modal's admin action),
it runs as a FORGET work item on the conversation's LINE stream, so it is ordered with the
conversation's other work: what the friend sent before is processed (and then deleted), what
they send afterwards starts a new conversation with a new number. Idempotent: a retried item
deletes what is left and records the audit once.

Deleted: the conversation state and every index (/pending, name index, number map, tags and
fields), 友だち情報, notes, the archive of messages and the media only this friend refers to,
what the friend wrote in group chats and rooms the bridge relays (their whole entries in the
group's archive: text, media, name, LINE id; the other members' messages stay, and a photo
another member sent too stays for them),
held sends and queued work of its thread, its dead letters, follow records, message maps,
dedupe keys carrying its id, the forward queues' copies of its webhooks; when asked, the
bridge's own Slack posts of the thread (chat.delete, their files too) and those showing the
friend's messages in group threads (the group's parent stays, re-rendered). Staff members' own
messages cannot be deleted by the bot: they are counted and reported. The audit (``forgotten``)
keeps who asked, when and how — no name, no text, no LINE id.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from bridge import clock
from bridge.archive.media import MediaArchive
from bridge.engine import work
from bridge.i18n import slack_t
from bridge.model import Conversation, DeliveryFailed
from bridge.ports import ParentRefresher
from bridge.privacy.media import discard
from bridge.services import Component, Services

log = logging.getLogger(__name__)


def forget_payload(op_id: str, conv_id: str, by: str, via: str, slack_posts: bool, channel: str = "") -> dict[str, Any]:
    """A FORGET work item (``via`` "slack" or "cli"; ``channel``: where to tell ``by`` the outcome)."""
    return {"op_id": op_id, "conv_id": conv_id, "by": by, "via": via, "slack_posts": bool(slack_posts),
            "channel": channel}


class Forgetting(Component):
    def __init__(self, services: Services, archive: MediaArchive | None, parents: ParentRefresher):
        super().__init__(services)
        self.forgets = services.stores.forget
        self.archive = archive
        self.parents = parents

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
        steps.do("told", lambda: self._tell(payload, told))
        steps.close()

    def _forget(self, op_id: str, conv_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Everything deleted and the audit recorded; what the confirmation says (the number, the posts)."""
        conv = self.store.get_conversation(conv_id)
        line_id = conv.line_id if conv else conv_id.partition("-")[2]
        posts = {"posts_deleted": 0, "posts_kept": 0}
        groups = self.forgets.groups.posts_of(line_id) if payload.get("slack_posts") else []
        if payload.get("slack_posts") and conv and conv.channel and conv.thread_ts:
            posts = self.delete_posts(conv)  # first: the thread is found through the conversation
        for _, channel, thread_ts, shown in groups:   # first too: the posts are found through the entries
            deleted, _kept = self._delete_from(channel, thread_ts, lambda m, shown=shown: m.get("ts") in shown)
            posts["posts_deleted"] += deleted
        # The files first, the entries after: a retry after a crash in between finds the entries, so the files too.
        files = discard(self.archive, self.forgets.release_media(conv_id, line_id))
        result = self.forgets.forget(conv_id, line_id, keep_stream=work.line_stream(conv_id))
        for group_id, *_ in groups:
            self.parents.request(group_id)   # a group's parent showing their first words shows them no more
        summary = {**result.summary(), "files": files, **posts}
        self.forgets.record_forgotten(op_id, str(payload.get("by") or ""), str(payload.get("via") or ""),
                                      clock.now(), summary)
        log.info("forgot a friend (op %s): %s", op_id, summary)
        return {"number": conv.number if conv else "?", "posts": posts,
                "group_entries": result.group_entries, "groups": result.groups}

    def delete_posts(self, conv: Conversation) -> dict[str, int]:
        """chat.delete every message the bot posted in the conversation's thread (parent last), with
        the files it shared there; staff members' own messages are counted, not deleted."""
        deleted, kept = self._delete_from(conv.channel, conv.thread_ts, lambda m: True)
        return {"posts_deleted": deleted, "posts_kept": kept}

    def _delete_from(self, channel: str, thread_ts: str, chosen: Callable[[dict[str, Any]], bool]) -> tuple[int, int]:
        """chat.delete the ``chosen`` messages of a thread that the bot posted (parent last), with their
        files; returns (deleted, kept: chosen but not the bot's, or refused)."""
        ident = self.slack.bot_identity()
        ours = {ident.get("bot_id") or "-", ident.get("user_id") or "-"}
        deleted = kept = 0
        try:
            messages = [m for m in self.slack.thread_messages(channel, thread_ts) if chosen(m)]
        except DeliveryFailed as exc:  # e.g. the bot left the channel: the data in the bridge still goes
            log.warning("the thread of a forgotten friend could not be read (%s); its Slack posts stay", exc.reason)
            return 0, 0
        replies = [m for m in messages if m.get("ts") != thread_ts]
        parent = [m for m in messages if m.get("ts") == thread_ts]
        for message in replies + parent:
            if not ({message.get("bot_id"), message.get("user")} & ours):
                kept += 1
                continue
            try:
                for file_id in _files_shown(message):
                    self.slack.delete_file(file_id)
                deleted += self.slack.delete_message(channel, message["ts"])
            except DeliveryFailed as exc:  # refused for this one message: counted as left, the rest goes on
                log.warning("a post of a forgotten friend's thread could not be deleted: %s", exc.reason)
                kept += 1
        return deleted, kept

    def _tell(self, payload: dict[str, Any], told: dict[str, Any]) -> None:
        """The outcome to the admin who asked in Slack (what :meth:`_forget` returned)."""
        number, posts = told["number"], told["posts"]
        by, channel = str(payload.get("by") or ""), str(payload.get("channel") or "")
        if payload.get("via") != "slack" or not by or not channel:
            return
        key = "forget.done_posts" if payload.get("slack_posts") else "forget.done"
        text = slack_t(key, self.lang, number=number, deleted=posts["posts_deleted"], kept=posts["posts_kept"])
        if told.get("group_entries"):
            text += slack_t("forget.done_groups", self.lang, entries=told["group_entries"], groups=told["groups"])
        try:
            self.slack.post_ephemeral(channel, by, text)
        except DeliveryFailed as exc:
            log.warning("could not tell %s that the friend was forgotten: %s", by, exc)


def _files_shown(message: dict[str, Any]) -> list[str]:
    """The Slack files a post shows: attached, or uploaded unshared and shown as image blocks (bridge.media.shown)."""
    ids = [f["id"] for f in message.get("files") or [] if isinstance(f, dict) and f.get("id")]
    for block in message.get("blocks") or []:
        ref = block.get("slack_file") if isinstance(block, dict) and block.get("type") == "image" else None
        if isinstance(ref, dict) and ref.get("id") and ref["id"] not in ids:
            ids.append(ref["id"])
    return ids
