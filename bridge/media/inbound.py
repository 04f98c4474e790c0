"""LINE → Slack media: images, videos, voice messages and files appear in the thread under the
friend's name and icon, like their texts.

Content is downloaded from LINE's api-data host (videos and audio only once LINE says
their transcoding succeeded), streamed to a temporary file and uploaded with the
files_upload_v2 flow without being shared; then one message with the friend's name and picture
shows it (:mod:`bridge.media.shown`). The upload is remembered before that post, so a retry posts
without uploading again. An ``imageSet`` (several photos sent at once, each its own webhook event)
is collected until all its images arrived and then becomes one Slack message with all of them,
in their order. LINE does not promise that every image of a set arrives: when the rest has not
come ``BRIDGE_IMAGE_SET_WAIT_SECONDS`` after the first, what arrived is shown with a line saying
how many of how many (a work item accepted into the conversation's stream at that time through
the due set of :mod:`bridge.engine.due`: nothing waits meanwhile); images arriving later are
shown on their own.

LINE deletes content after a while, so this runs in the relay job itself; transient
failures are retried by the inbox, and a failure that persists (or content LINE no longer
has) leaves a ⚠️ line in the thread with the reason: never a silent gap.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from typing import Any

from bridge.archive.recorder import Recorder
from bridge.i18n import MESSAGES, slack_t, t
from bridge.media.shown import NotReady, Shown, post_shown
from bridge.model import Conversation, DeliveryFailed, InboundMessage, Profile, RetryLater
from bridge.engine import work
from bridge.ports import WorkQueue
from bridge.services import Component, Services
from bridge.store.media import collect_image_set, count_media_attempt, image_set_members, mark_image_set_partial

log = logging.getLogger(__name__)

MEDIA_KINDS = ("image", "video", "audio", "file")
SLACK_MAX_BYTES = 1024 ** 3          # Slack's file size limit (1 GB)
MAX_ATTEMPTS = 6                     # transient failures before the ⚠️ line
TRANSCODING_PATIENCE = 15 * 60       # s after the message before "still processing" counts as failed
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4",
              "audio/x-m4a": "m4a", "audio/mp4": "m4a", "audio/m4a": "m4a", "audio/aac": "aac", "audio/mpeg": "mp3"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class MediaIn(Component):
    def __init__(self, services: Services, queue: WorkQueue | None):
        super().__init__(services)
        self.queue = queue  # None: sets wait for all their images
        self.history = Recorder(services)  # the downloaded bytes are spooled for the media archive

    def handles(self, msg: InboundMessage) -> bool:
        return msg.kind in MEDIA_KINDS

    @staticmethod
    def line_message(msg: InboundMessage) -> dict[str, Any]:
        return _dict(msg.extra.get("line_message"))

    def external_text(self, msg: InboundMessage) -> str | None:
        """``contentProvider.type == "external"``: shown from its URLs, nothing downloaded."""
        provider = _dict(self.line_message(msg).get("contentProvider"))
        if provider.get("type") != "external":
            return None
        urls = [u for u in (provider.get("originalContentUrl"), provider.get("previewImageUrl"))
                if isinstance(u, str) and u.startswith("https://")]
        return slack_t("media.external", self.lang, what=msg.text, url="\n".join(dict.fromkeys(urls)))

    def relay(self, conv: Conversation, msg: InboundMessage, sender: Profile) -> tuple[str, list[str]] | None:
        """Show the content in the thread under ``sender``'s name and picture. Returns (Slack ts or "",
        LINE message ids shown), or None while an imageSet is still incomplete."""
        m = self.line_message(msg)
        image_set = _dict(m.get("imageSet"))
        ids = [msg.message_id]
        what, caption = msg.text, False
        if msg.kind == "image" and image_set.get("id") and isinstance(image_set.get("total"), int) and image_set["total"] > 1:
            set_id, total = str(image_set["id"]), image_set["total"]
            members, first_at, shown_incomplete = collect_image_set(
                self.store, msg.account, set_id, int(image_set.get("index") or 0), msg.message_id, time.time())
            if not shown_incomplete:  # else: its wait ran out, this late image is shown on its own
                if len(members) < total:
                    self._wait_for_rest(msg, set_id, total, first_at)
                    return None
                ids = [members[i] for i in sorted(members)]
                what, caption = t("media.image_set", self.lang, count=len(ids)), True
        return self._relay_ids(conv, msg, ids, sender, what, caption)

    def relay_incomplete_set(self, conv: Conversation, payload: dict[str, Any],
                             sender: Profile) -> tuple[str, list[str], InboundMessage] | None:
        """An imageSet's wait ran out (an ``image_set_due`` item): show what arrived, saying how many of
        how many. None when the set was completed (its last image showed it) or nothing arrived."""
        account, set_id, total = str(payload.get("account") or ""), str(payload.get("set_id") or ""), int(payload["total"])
        members, shown_incomplete = image_set_members(self.store, account, set_id)
        if not members or len(members) >= total:
            return None
        if not shown_incomplete:
            mark_image_set_partial(self.store, account, set_id)  # from now on, a late image is shown on its own
        ids = [members[i] for i in sorted(members)]
        msg = InboundMessage(account=account, conv_id=conv.conv_id, line_id=conv.line_id, source_type=conv.source_type,
                             sender_id=str(payload.get("sender") or ""), kind="image",
                             text=t("media.image_set", self.lang, count=len(ids)), message_id=ids[0])
        what = msg.text + "\n" + t("media.image_set_incomplete", self.lang, received=len(ids), total=total)
        ts, shown = self._relay_ids(conv, msg, ids, sender, what, True)
        return ts, shown, msg

    def _wait_for_rest(self, msg: InboundMessage, set_id: str, total: int, first_at: float) -> None:
        """Show the set anyway once the wait is over (every image schedules the same item; the earliest wins)."""
        if self.queue is None:
            return
        payload = {"account": msg.account, "set_id": set_id, "conv_id": msg.conv_id, "total": total, "sender": msg.sender_id}
        event_id = hashlib.sha256(f"{msg.conv_id}\t{set_id}".encode()).hexdigest()[:32]
        self.queue.accept_later(max(0.0, first_at + self.settings.image_set_wait - time.time()), f"imgset-{msg.account}",
                          event_id, work.line_stream(msg.conv_id), work.IMAGE_SET_DUE, payload)

    def _relay_ids(self, conv: Conversation, msg: InboundMessage, ids: list[str], sender: Profile,
                   what: str, caption: bool) -> tuple[str, list[str]]:
        key = f"{msg.account}-{ids[0]}"
        record = self.store.get_record("media", key)
        if record.get("state") in ("done", "failed"):
            return record.get("ts") or "", ids
        try:
            if record.get("state") == "uploaded":  # an earlier attempt uploaded them; its post did not happen
                file_ids, types = record["files"].split(","), record["types"].split(",")
                archived = record.get("archived") or "[]"
            else:
                file_ids, types, refs = self._upload(conv, msg, ids)
                archived = json.dumps(refs, ensure_ascii=False)
                self.store.set_record("media", key, state="uploaded", files=",".join(file_ids), types=",".join(types),
                                      archived=archived)
            shown = Shown(conv.channel, conv.thread_ts, sender, file_ids, types, what, caption)
            ts = post_shown(self.slack, f"media-{key}", shown, int(record.get("not_ready") or 0))
        except NotReady:
            self.store.set_record("media", key, not_ready=str(int(record.get("not_ready") or 0) + 1))
            raise
        except RetryLater as exc:
            attempts = count_media_attempt(self.store, key)
            if exc.throttled or attempts < MAX_ATTEMPTS:
                raise
            return self._give_up(conv, msg, key, sender.display_name, "other", exc.reason), ids
        except DeliveryFailed as exc:
            return self._give_up(conv, msg, key, sender.display_name, exc.reason, exc.detail), ids
        for mid in reversed(ids):  # every image of a set finds the post (unsend, quotes); the first one last
            self.store.set_record("media", f"{msg.account}-{mid}", state="done", files=",".join(file_ids), ts=ts,
                                  archived=archived)
        return ts, ids

    def archived(self, account: str, message_id: str) -> list[dict[str, Any]]:
        """The media archive references of what a LINE message showed (its set's, for an imageSet)."""
        try:
            refs = json.loads(self.store.get_record("media", f"{account}-{message_id}").get("archived") or "[]")
        except ValueError:
            return []
        return [r for r in refs if isinstance(r, dict) and r.get("sha256")]

    def files_of(self, account: str, message_id: str) -> tuple[str, list[str]]:
        """(Slack ts, Slack file ids) of the upload showing a LINE message (ts looked up if it was not known yet)."""
        record = self.store.get_record("media", f"{account}-{message_id}")
        files = [f for f in (record.get("files") or "").split(",") if f]
        return record.get("ts") or "", files

    # -- internals ---------------------------------------------------------------------------
    def _upload(self, conv: Conversation, msg: InboundMessage, ids: list[str]) -> tuple[list[str], list[str], list[dict]]:
        """Download the LINE content of ``ids`` and upload it to Slack unshared: (file ids, content types,
        media archive references: the downloaded files are spooled for the archive, off the relay's path)."""
        line = self.line_of(conv)
        m = self.line_message(msg)
        with tempfile.TemporaryDirectory(prefix="lsb-media-") as tmp:
            files, types, refs = [], [], []
            for n, mid in enumerate(ids):
                if msg.kind in ("video", "audio"):
                    status = line.transcoding_status(mid)
                    if status == "failed":
                        raise DeliveryFailed("transcoding_failed")
                    if status != "succeeded":
                        if msg.timestamp_ms and time.time() - msg.timestamp_ms / 1000 > TRANSCODING_PATIENCE:
                            raise DeliveryFailed("transcoding_failed", status)
                        raise RetryLater(f"LINE content {mid} is still {status or 'processing'}", delay=3, throttled=True)
                path = os.path.join(tmp, f"{n}")
                with open(path, "wb") as fh:
                    ctype, _size = line.download_content(mid, fh, SLACK_MAX_BYTES)
                name = m.get("fileName") if msg.kind == "file" and isinstance(m.get("fileName"), str) else ""
                name = (name or f"{msg.kind}-{mid}.{EXTENSIONS.get(ctype, 'bin')}")[:200]
                files.append({"path": path, "filename": name, "title": name})
                types.append((ctype or "").split(";")[0].strip().lower().replace(",", ""))
                ref = self.history.spool(path, types[-1] or "application/octet-stream", name)
                if ref:
                    refs.append(ref)
            return self.slack.upload_unshared(files), types, refs

    def _give_up(self, conv: Conversation, msg: InboundMessage, key: str, sender_name: str, reason: str, detail: str) -> str:
        if "media.reason." + reason in MESSAGES:
            why = t("media.reason." + reason, self.lang, detail=detail)
        else:
            why = t("media.reason.other", self.lang, detail=f"{reason} {detail}".strip())
        log.warning("media %s not relayed: %s %s", key, reason, detail)
        for file_id in [f for f in (self.store.get_record("media", key).get("files") or "").split(",") if f]:
            try:  # uploaded, never shown: not left behind in Slack
                self.slack.delete_file(file_id)
            except (DeliveryFailed, RetryLater) as exc:
                log.warning("could not delete Slack file %s of media %s: %s", file_id, key, exc)
        text = slack_t("media.failed", self.lang, name=sender_name, what=t(f"media.kind.{msg.kind}", self.lang), reason=why)
        ts = self.slack.post_once(f"media-failed-{key}", conv.channel, text, thread_ts=conv.thread_ts)
        self.store.set_record("media", key, state="failed", reason=reason, ts=ts, files="")
        return ts
