"""Staff files into the media archive, as their own work (``archive_media`` items on ``archive-<conv>``).

A staff reply is recorded at once (text, how it went, the file names); its files are copied
afterwards, on a stream of their own, so the copy never delays the reply or the next one.
Each file is taken from this host's media cache when the bridge has it already (LINE's
``/media`` fetch, or the send itself, downloaded it: :meth:`bridge.media.cache.VariantCache.keep_original`)
and downloaded from Slack only when it is not there (evicted, another host, a file LINE was not
sent) — kept in the cache as it passes, for LINE's fetch that may still come. Either way the
archive gets the file's bytes as staff sent them, never a variant the bridge made for LINE.
The item is retried with the engine's back-off while Slack or the disk fails.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

from bridge import metrics
from bridge.archive.recorder import Recorder
from bridge.engine import work
from bridge.media.cache import file_chunks
from bridge.ports import WorkQueue
from bridge.services import Component, Services
from bridge.slack.file_hosts import is_remote_file

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def staff_files(files: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the archive job needs of a Slack message's files (id, url, type, name). The webhook keeps only
    a file's id, name and type (bridge.slack_in): the job then asks Slack where the bytes are, when it
    has to download them. A remote file (Google Drive…) has no bytes at Slack: nothing to archive."""
    out = []
    for f in files:
        url = f.get("url_private_download") or f.get("url_private") or ""
        if (url or f.get("id")) and not is_remote_file(f):
            out.append({"id": str(f.get("id") or ""), "url": url,
                        "type": str(f.get("mimetype") or "application/octet-stream"),
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
        """{"conv_id", "entry_id", "at", "files": [{"id", "url", "type", "name"}]}: read (the media cache, or
        Slack), spool, attach. Items queued before files carried their "id" are downloaded from Slack."""
        if self.services.archive is None:
            return   # no media archive in this process (in-process use without one)
        refs = []
        for f in payload.get("files") or []:
            source = self._original(f)
            if source is None:
                continue   # a remote file: nothing at Slack to copy
            ref = self.history.spool(source, str(f.get("type") or ""), str(f.get("name") or ""))
            if ref is None:
                raise OSError("the media archive's spool refused the file")   # retried with back-off
            refs.append(ref)
        if refs:
            self.history.media_arrived(str(payload["conv_id"]), float(payload["at"]), str(payload["entry_id"]), refs)

    def _original(self, f: dict[str, Any]) -> Iterator[bytes] | None:
        """The file's bytes: the copy the bridge kept, else a download from Slack (kept as it passes);
        None for a remote file. The bot token goes only to Slack's file hosts (``open_private``)."""
        cache, file_id = self.services.media_cache, str(f.get("id") or "")
        kept = cache.open_original(file_id) if cache is not None else None
        if kept is not None:
            metrics.count("archive_staff_files", source="cache")   # bridge_archive_staff_files_total
            return file_chunks(kept, CHUNK)
        url = str(f.get("url") or "")
        if not url:   # RetryLater / DeliveryFailed (the file was deleted): the engine decides
            info = self.slack.file_info(file_id)
            if is_remote_file(info):
                return None
            url = str(info.get("url_private_download") or info.get("url_private") or "")
        metrics.count("archive_staff_files", source="slack")
        resp = self.slack.open_private(url)   # RetryLater / DeliveryFailed: the engine decides
        body = _download(resp)
        return cache.keep_original(file_id, body) if cache is not None else body


def _download(resp: Any) -> Iterator[bytes]:
    try:
        yield from resp.iter_content(CHUNK)
    finally:
        resp.close()
