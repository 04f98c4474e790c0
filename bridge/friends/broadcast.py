"""Segment broadcast (セグメント配信) with multicast, resumable after a crash.

A confirmed broadcast is one ``broadcast`` work item on its own stream. Processing it:

1. *Freeze* (once): compute the audience, check the month's quota (refuse with the numbers
   when it would not fit), prepare the image if there is one (fetched once from Slack and
   checked; its signed ``/media`` URLs are recorded, so a resumed broadcast sends the very same
   message), store the recipient list and the broadcast record.
2. *Send* chunk by chunk (500 ids, LINE's multicast limit), each with its own
   ``X-Line-Retry-Key`` = uuid5(broadcast id, chunk index) and a per-chunk record written
   after LINE accepted it. A retried item (crash, timeout, 5xx) skips recorded chunks; a
   chunk sent but not recorded (crash in between) is answered 409 by LINE, counted as sent.
3. *Report*: progress and the final numbers (sent, failed, blocked) in one Slack message.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from bridge.archive.recorder import Recorder
from bridge.friends.segment import Audience, Segment, audience
from bridge.i18n import t
from bridge.media.outbound import MediaOut, NotSent
from bridge.model import DeliveryFailed
from bridge.services import Component, Services

log = logging.getLogger(__name__)

CHUNK = 500                    # LINE multicast: at most 500 user ids per request
RETRY_NS = uuid.UUID("6f1c2a51-3d0e-4c8b-9a57-2b8f0f6a1c11")


def retry_key(bid: str, index: int) -> str:
    return str(uuid.uuid5(RETRY_NS, f"{bid}:{index}"))


def n(x: int | str) -> str:
    return f"{int(x):,}"


def quota_cost(recipients: int) -> int:
    """Messages a broadcast counts against LINE's monthly quota: one per recipient per request,
    however many message objects (text + image: still one) the request carries.
    https://developers.line.biz/en/docs/messaging-api/pricing/"""
    return recipients


def line_messages(rec: dict[str, str]) -> list[str | dict]:
    """What each recipient gets, in one multicast request: [text?, image?] (≤ 5 objects, LINE's rule)."""
    messages: list[str | dict] = [rec["text"]] if rec.get("text") else []
    if rec.get("image"):
        messages.append(json.loads(rec["image"]))
    return messages


class Broadcasts(Component):
    def __init__(self, services: Services):
        super().__init__(services)
        self.broadcasts = services.stores.broadcasts
        self.history = Recorder(services)  # each recipient's history refers to the broadcast

    def handle_item(self, payload: dict[str, Any]) -> None:
        """{"bid", "segment": Segment JSON, "text", "image"?: {"id", "name"}, "actor", "channel"}."""
        bid = payload["bid"]
        rec = self.broadcasts.get(bid)
        if rec.get("status") in ("done", "refused"):
            # Over; its final report may have had to wait for the channel's turn (RetryLater): said now.
            final = self.store.steps(f"broadcast-{bid}").recall("final")
            if final is not None:
                self.report_final(bid, rec, final)
            return
        if not rec:
            rec = self.freeze(bid, payload)
            if rec.get("status") == "refused":
                return
        self.send(bid, rec)

    # -- 1. freeze ---------------------------------------------------------------------
    def freeze(self, bid: str, payload: dict[str, Any]) -> dict[str, str]:
        segment = Segment.from_json(payload["segment"])
        aud: Audience = audience(self.services.stores, segment, lambda k: self.marks.effective(k).key, self.marks)
        line = self.services.lines.of(segment.account)
        limit, used = line.quota()
        rec = {"status": "sending", "account": segment.account, "actor": payload.get("actor", ""),
               "channel": payload.get("channel", ""), "text": payload.get("text") or "", "total": str(len(aud.user_ids)),
               "blocked": str(aud.blocked), "chunks": str((len(aud.user_ids) + CHUNK - 1) // CHUNK),
               "sent": "0", "failed": "0", "created_at": repr(time.time())}
        if payload.get("image"):
            rec["image_name"] = str(payload["image"].get("name") or "")
        if limit is not None and used + quota_cost(len(aud.user_ids)) > limit:
            rec.update(status="refused", limit=str(limit), used=str(used))
            self.report_final(bid, rec, t("broadcast.refused_quota", self.lang, total=n(len(aud.user_ids)), limit=n(limit),
                                          used=n(used), left=n(max(0, limit - used))), status=rec)
            return rec
        if payload.get("image"):
            try:   # before the first chunk; RetryLater (Slack unreachable) propagates: the item is retried
                file_id = str(payload["image"].get("id") or "")
                # The id came back in the confirmation's private_metadata: only a file the person uploaded
                # in the modal, never any file the bot can read (another channel's, another person's).
                if self.slack.file_info(file_id).get("user") != rec["actor"]:
                    raise NotSent("broadcast.image_not_yours")
                rec["image"] = json.dumps(MediaOut(self.services).checked_image(file_id))
                ref = self.archive_image(file_id)
                if ref:
                    rec["image_media"] = json.dumps(ref, ensure_ascii=False)
            except (NotSent, DeliveryFailed) as exc:
                reason = (t(exc.key, self.lang, **exc.params) if isinstance(exc, NotSent)
                          else t("media.out.unavailable", self.lang, detail=exc.reason))
                rec.update(status="refused", reason=reason)
                self.report_final(bid, rec, t("broadcast.refused_image", self.lang, name=rec["image_name"], reason=reason),
                                  status=rec)
                return rec
        self.broadcasts.freeze(bid, rec, aud.user_ids)
        return rec

    def archive_image(self, file_id: str) -> dict[str, Any] | None:
        """The broadcast's image into the media archive (best effort: the broadcast never waits on it)."""
        if self.services.archive is None:
            return None
        try:
            info = self.slack.file_info(file_id)
            resp = self.slack.open_private(info.get("url_private_download") or info.get("url_private") or "")
            try:
                resp.raw.decode_content = True
                return self.history.spool(resp.raw, str(info.get("mimetype") or "image/jpeg"), str(info.get("name") or ""))
            finally:
                resp.close()
        except Exception as exc:  # Slack hiccup: the broadcast goes out, its entries without the archived image
            log.warning("broadcast image %s not archived: %s", file_id, exc)
            return None

    # -- 2. send -------------------------------------------------------------------------
    def send(self, bid: str, rec: dict[str, str]) -> None:
        line = self.services.lines.of(rec["account"])
        chunks = int(rec["chunks"])
        self.report(bid, rec, self.progress_text(rec, 0, chunks))
        for index in range(chunks):
            if self.broadcasts.chunk_status(bid, index) in ("sent", "failed"):
                continue
            to = self.broadcasts.recipients(bid, index * CHUNK, CHUNK)
            try:
                request_id, duplicate = line.multicast(to, line_messages(rec), retry_key(bid, index))
                outcome = {"status": "sent", "request_id": request_id, "duplicate": "1" if duplicate else "0"}
                counter = "sent"
            except DeliveryFailed as exc:   # permanent (quota used up meanwhile, invalid request): not retried
                log.warning("broadcast %s chunk %d failed: %s", bid, index, exc)
                outcome, counter = {"status": "failed", "reason": exc.reason}, "failed"
            # RetryLater propagates: the inbox retries the item later and recorded chunks are skipped.
            # Before the chunk's record: a crash in between re-records the same entries (same ids and times).
            self.history.broadcast(bid, rec["account"], to, float(rec["created_at"]), rec.get("text") or "",
                                   outcome["status"], media=[json.loads(rec["image_media"])] if rec.get("image_media") else None)
            now_rec = self.broadcasts.record_chunk(bid, index, outcome, len(to), counter)
            self.report(bid, now_rec, self.progress_text(rec, index + 1, chunks))
        final = self.broadcasts.get(bid)
        self.report_final(bid, final, t("broadcast.done", self.lang, sent=n(final["sent"]), failed=n(final["failed"]),
                                        blocked=n(final["blocked"]), actor=f"<@{final['actor']}>"),
                          status={"status": "done", "finished_at": repr(time.time())})

    def progress_text(self, rec: dict[str, str], done: int, chunks: int) -> str:
        return t("broadcast.progress", self.lang, done=done, chunks=chunks, total=n(rec["total"]),
                 actor=f"<@{rec['actor']}>")

    # -- 3. report -----------------------------------------------------------------------
    def report_final(self, bid: str, rec: dict[str, str], text: str, status: dict[str, str] | None = None) -> None:
        """The broadcast's last report (done or refused), once, with its ``status`` stored.

        The text is kept as a step (:mod:`bridge.store.steps`) before the status says the broadcast
        is over: when the report has to wait for the channel's turn (RetryLater), the retry finds it
        over and says it then, instead of leaving the report at its last progress line."""
        steps = self.store.steps(f"broadcast-{bid}")
        steps.once("final", lambda: text)
        if status:
            self.broadcasts.update(bid, **status)
        steps.do("reported", lambda: self.report(bid, rec, text, final=True))
        steps.close()

    def report(self, bid: str, rec: dict[str, str], text: str, final: bool = False) -> None:
        """One message per broadcast in the reporting channel, updated as chunks go out."""
        channel = rec.get("channel") or self.accounts.require(rec["account"]).channel
        preview = "\n".join("> " + line for line in rec.get("text", "").splitlines()[:5])
        if "image_name" in rec:
            preview += ("\n" if preview else "") + "> " + t("broadcast.image_line", self.lang, name=rec["image_name"])
        body = f"{text}\n{preview}"
        ts = self.broadcasts.get(bid).get("report_ts")
        try:
            if ts:
                self.slack.update(channel, ts, body)
            else:
                ts = self.slack.post_once(f"broadcast-{bid}", channel, body)
                self.broadcasts.update(bid, report_ts=ts)
        except DeliveryFailed as exc:
            log.warning("broadcast %s report failed: %s", bid, exc)


def resume_broadcasts(r, keys, inbox) -> int:
    """At process start: kick every broadcast stream that still has work (its drain job may have
    died with a killed worker; a stream still locked by a dead worker is retried when the lock expires)."""
    prefix = keys.inbox(stream="")
    kicked = 0
    for key in r.scan_iter(match=keys.inbox(stream="bc-*"), count=1000):
        if r.llen(key):
            inbox.kick(key[len(prefix):])
            kicked += 1
    return kicked
