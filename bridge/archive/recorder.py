"""The one recording component: every send path files its message in the archive through it.

Built by each component in its constructor from the shared services (``Recorder(services)``);
it holds no state of its own. Recording is best effort — a Redis hiccup here is logged, never
raised into the relay — and idempotent: entries are keyed by their stable ``id``
(:mod:`bridge.archive.entry`), so a retried job records nothing twice.

Media: :meth:`spool` copies bytes the relay already has on local disk into the media archive's
spool (hashed on the way) and returns their reference for the entry; the worker's ticker moves
spooled files into the archive (:func:`bridge.archive.health.flush`). Nothing here waits for the store.
"""
from __future__ import annotations

import logging
from typing import IO, Any

from bridge import metrics
from bridge.archive import entry as E
from bridge.archive.media import Source
from bridge.model import Conversation, InboundMessage, conv_key
from bridge.services import Services
from bridge.store.archive import add_refs, drop_ref
from bridge.store.messages import transcript_add_many, transcript_put, transcript_rewrite, transcript_update

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, services: Services):
        self.store = services.store
        self.slack = services.slack
        self.archive = services.archive

    # -- writing ----------------------------------------------------------------------------------
    def add(self, conv_id: str, item: dict[str, Any]) -> None:
        try:
            transcript_put(self.store, conv_id, item)
            add_refs(self.store, conv_id, E.media_hashes(item))
        except Exception:  # the archive is best effort: never block the relay
            log.exception("could not record %s in the archive of %s", item.get("id"), conv_id)
            metrics.count("archive_record_failures")

    def spool(self, source: Source, type: str, name: str = "") -> dict[str, Any] | None:
        """Hand bytes to the media archive (local spool, no network); their reference, or None."""
        if self.archive is None:
            return None
        try:
            return self.archive.spool(source, type, name)
        except Exception:  # a full disk must not stop the relay: the message is recorded without it
            log.exception("could not spool media %r for the archive", name)
            metrics.count("archive_spool_failures")   # bridge_archive_spool_failures_total in /metrics
            return None

    # -- the kinds of messages -----------------------------------------------------------------------
    def friend(self, conv: Conversation, msg: InboundMessage, name: str, slack_ts: str, at: float,
               media: list[dict[str, Any]] | None = None) -> None:
        self.add(conv.conv_id, E.make(E.line_id(msg.message_id), at, "in", msg.kind, author=msg.sender_id, name=name,
                                      text=msg.text, line_message_id=msg.message_id, slack_ts=slack_ts, media=media))

    def staff(self, conv: Conversation, channel: str, ts: str, user: str, text: str, *, via: str = "", status: str,
              kind: str = "text", media: list[dict[str, Any]] | None = None,
              canned: str = "", corrects: str = "", at: float | None = None, slack_ts: str | None = None) -> None:
        """A staff reply (typed, 定型文 "canned", or a "correction" of a sent one) and how it went.
        ``ts`` makes its id; ``slack_ts`` the Slack message showing it, when that is another one."""
        self.add(conv.conv_id, E.make(E.slack_id(channel, ts), at if at is not None else float(ts), "out", kind,
                                      author=user, name=self.name_of(user), text=text,
                                      slack_ts=ts if slack_ts is None else slack_ts, via=via,
                                      status=status, media=media, canned=canned, corrects=corrects))

    def note(self, conv: Conversation, channel: str, ts: str, user: str, text: str) -> None:
        self.add(conv.conv_id, E.make(E.slack_id(channel, ts), float(ts), "note", "note", author=user,
                                      name=self.name_of(user), text=text, slack_ts=ts))

    def auto(self, conv: Conversation, kind: str, key: str, at: float, text: str, *, via: str, status: str,
             slack_ts: str = "", **extra: Any) -> None:
        """Sent by the bridge itself: an auto-reply ("autoreply"), a 返信待ち "reminder", a "broadcast"."""
        self.add(conv.conv_id, E.make(E.auto_id(kind, key), at, "auto", kind, name="bridge", text=text, via=via,
                                      status=status, slack_ts=slack_ts, **extra))

    def broadcast(self, bid: str, account: str, user_ids: list[str], at: float, text: str, status: str,
                  media: list[dict[str, Any]] | None = None) -> None:
        """One chunk of a broadcast in each recipient's history, pointing at the broadcast's own record
        (``broadcast:{bid}``, its audience in ``broadcast:{bid}:to``; kept without expiry)."""
        entries = [(cid, E.make(E.broadcast_entry_id(bid, cid), at, "auto", "broadcast", name="bridge", text=text,
                                via="push", status=status, broadcast_id=bid, media=media))
                   for cid in (conv_key(account, uid) for uid in user_ids)]
        try:
            transcript_add_many(self.store, entries)
            for cid, _ in entries if media else ():
                add_refs(self.store, cid, E.media_hashes({"media": media}))
        except Exception:
            log.exception("could not record broadcast %s in its recipients' archives", bid)

    def event(self, conv_id: str, op_id: str, kind: str, at: float, text: str, user: str = "") -> None:
        """A mark or assignee change (``text``: the new value as people read it)."""
        self.add(conv_id, E.make(E.event_id(op_id), at, "event", kind, author=user or E.BRIDGE,
                                 name=self.name_of(user) if user else "bridge", text=text))

    def media_arrived(self, conv_id: str, at: float, entry_id: str, media: list[dict[str, Any]]) -> None:
        """Archived media of an entry recorded before its bytes were at hand (staff files)."""
        try:
            if transcript_update(self.store, conv_id, at, entry_id, lambda e: {**e, "media": media}):
                add_refs(self.store, conv_id, [m["sha256"] for m in media])
        except Exception:
            log.exception("could not attach archived media to %s", entry_id)

    # -- the friend changed a message ------------------------------------------------------------
    def unsent(self, conv_id: str, line_message_id: str, at: float | None) -> None:
        """Only that it was unsent stays: its media file goes too, unless another conversation refers to it."""
        gone: list[str] = []

        def change(item: dict[str, Any]) -> dict[str, Any]:
            gone.extend(E.media_hashes(item))
            return E.unsent(item)

        self._rewrite(conv_id, line_message_id, at, change)
        for sha in gone:
            try:
                if drop_ref(self.store, conv_id, sha) == 0 and self.archive is not None:
                    self.archive.discard(sha)
            except Exception:  # kept for now; retention or forget removes it later
                log.exception("could not delete the archived media of an unsent message")

    def edited(self, conv_id: str, line_message_id: str, at: float | None, text: str) -> None:
        self._rewrite(conv_id, line_message_id, at, lambda e: E.edited(e, text))

    def _rewrite(self, conv_id: str, line_message_id: str, at: float | None, change) -> None:
        try:
            transcript_rewrite(self.store, conv_id, line_message_id, at, change)
        except Exception:
            log.exception("could not update the archive of %s", conv_id)

    def name_of(self, user: str) -> str:
        try:
            return self.slack.user_name(user) or user
        except Exception:  # Slack down: the id is kept, the name is best effort
            return user
