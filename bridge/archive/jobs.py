"""Staff files into the media archive, as their own work (``archive_media`` items on ``archive-<conv>``).

A staff reply is recorded at once (text, how it went, the file names); its files are read from
Slack afterwards, on a stream of their own, so the copy never delays the reply or the next one.
The item is retried with the engine's back-off while Slack or the disk fails.
"""
from __future__ import annotations

import logging
from typing import Any

from bridge.archive.recorder import Recorder
from bridge.engine import work
from bridge.ports import WorkQueue
from bridge.services import Component, Services

log = logging.getLogger(__name__)


def staff_files(files: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the archive job needs of a Slack message's files (url, type, name)."""
    out = []
    for f in files:
        url = f.get("url_private_download") or f.get("url_private") or ""
        if url:
            out.append({"url": url, "type": str(f.get("mimetype") or "application/octet-stream"),
                        "name": str(f.get("name") or f.get("title") or "")[:200]})
    return out


def queue_staff_files(queue: WorkQueue | None, conv_id: str, entry_id: str, at: float, files: list[dict[str, str]]) -> None:
    if queue is None or not files:
        return
    queue.accept("archive", entry_id, work.archive_stream(conv_id), work.ARCHIVE_MEDIA,
                 {"conv_id": conv_id, "entry_id": entry_id, "at": at, "files": files})


class MediaArchiving(Component):
    def __init__(self, services: Services):
        super().__init__(services)
        self.history = Recorder(services)

    def handle_item(self, payload: dict[str, Any]) -> None:
        """{"conv_id", "entry_id", "at", "files": [{"url", "type", "name"}]}: download, spool, attach."""
        refs = []
        for f in payload.get("files") or []:
            resp = self.slack.open_private(str(f["url"]))   # RetryLater / DeliveryFailed: the engine decides
            try:
                resp.raw.decode_content = True
                ref = self.history.spool(resp.raw, str(f.get("type") or ""), str(f.get("name") or ""))
            finally:
                resp.close()
            if ref is None:
                raise OSError("the media archive's spool refused the file")   # retried with back-off
            refs.append(ref)
        if refs:
            self.history.media_arrived(str(payload["conv_id"]), float(payload["at"]), str(payload["entry_id"]), refs)
