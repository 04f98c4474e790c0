"""Slack → LINE media: the files of a staff reply become LINE image, video and audio messages.

LINE fetches media from HTTPS URLs, so each message points at the bridge's own signed,
expiring ``/media/<token>`` links (:mod:`bridge.media.sign`), streamed from Slack on
demand (:mod:`bridge.media.serve`). LINE's limits are checked here, before sending; what
cannot be sent as LINE needs it gets a clear line in the thread instead of vanishing.
Other files (PDF, Excel…) become a text with a signed download link. A remote file (Google
Drive, Dropbox, ``files.remote.add``) is never fetched: its ``url_private`` is someone's
external URL, not Slack's; the friend gets a plain link instead: the file's own external
URL when it is https (the Drive or Dropbox link staff shared, which a friend can open), else
its Slack permalink. Only the link is sent; nothing is fetched.
https://developers.line.biz/en/reference/messaging-api/#image-message
"""
from __future__ import annotations

import logging
import tempfile
from typing import Any, Generator

from bridge.i18n import t
from bridge.media.cache import file_chunks
from bridge.media.probe import mp4_duration_ms
from bridge.media.sign import media_url
from bridge.model import DeliveryFailed
from bridge.services import Component
from bridge.slack.file_hosts import is_remote_file

log = logging.getLogger(__name__)

MB = 1024 * 1024
IMAGE_MAX = 10 * MB            # LINE: image ≤ 10 MB (JPEG/PNG)
CONVERTIBLE_IMAGE_MAX = 50 * MB  # larger or other formats are re-encoded as JPEG up to this size
VIDEO_MAX = AUDIO_MAX = 200 * MB
LINE_IMAGE_TYPES = ("image/jpeg", "image/png")
LINE_VIDEO_TYPES = ("video/mp4",)
MP4_AUDIO_TYPES = ("audio/x-m4a", "audio/mp4", "audio/m4a", "audio/aac")
AUDIO_TYPES = MP4_AUDIO_TYPES + ("audio/mpeg",)


class NotSent(Exception):
    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params


class MediaOut(Component):
    def line_messages(self, files: list[dict[str, Any]]) -> tuple[list[str | dict], list[str]]:
        """(LINE messages for ``files``, in order; one explanatory line per file that is not sent)."""
        messages: list[str | dict] = []
        problems: list[str] = []
        for f in files:
            name = str(f.get("name") or f.get("id") or "file")
            try:
                info = self.slack.file_info(str(f.get("id") or ""))
                name = info.get("name") or name
                messages.append(self._message(info))
            except NotSent as exc:
                problems.append(t("media.not_sent", self.lang, name=name, reason=t(exc.key, self.lang, **exc.params)))
            except DeliveryFailed as exc:
                problems.append(t("media.not_sent", self.lang, name=name,
                                  reason=t("media.out.unavailable", self.lang, detail=exc.reason)))
        return messages, problems

    def _url(self, info: dict[str, Any], variant: str, name: str = "") -> str:
        return media_url(self.settings, info["id"], variant, name)

    def _message(self, info: dict[str, Any]) -> str | dict:
        if is_remote_file(info):
            external = info.get("external_url")
            link = external if isinstance(external, str) and external.startswith("https://") else info.get("permalink")
            if not link:
                raise NotSent("media.out.remote")
            return t("media.out.remote_link", self.lang, name=info.get("title") or info.get("name") or "file", url=link)
        mime = (info.get("mimetype") or "").lower()
        size = int(info.get("size") or 0)
        mb = f"{size / MB:.1f} MB"
        if mime.startswith("image/") and mime != "image/svg+xml":
            if mime in LINE_IMAGE_TYPES and size <= IMAGE_MAX:
                return {"type": "image", "originalContentUrl": self._url(info, "orig"),
                        "previewImageUrl": self._url(info, "preview")}
            if size > CONVERTIBLE_IMAGE_MAX:
                raise NotSent("media.out.too_large", size=mb, limit="10 MB")
            return {"type": "image", "originalContentUrl": self._url(info, "jpeg"), "previewImageUrl": self._url(info, "preview")}
        if mime.startswith("video/"):
            if mime not in LINE_VIDEO_TYPES:
                raise NotSent("media.out.format", kind="MP4", got=info.get("filetype") or mime)
            if size > VIDEO_MAX:
                raise NotSent("media.out.too_large", size=mb, limit="200 MB")
            return {"type": "video", "originalContentUrl": self._url(info, "orig"), "previewImageUrl": self._url(info, "still")}
        if mime.startswith("audio/"):
            if mime not in AUDIO_TYPES:
                raise NotSent("media.out.format", kind="M4A / MP3", got=info.get("filetype") or mime)
            if size > AUDIO_MAX:
                raise NotSent("media.out.too_large", size=mb, limit="200 MB")
            duration = int(info.get("duration_ms") or 0) or self._duration(info, mime)
            if not duration:
                raise NotSent("media.out.no_duration")
            return {"type": "audio", "originalContentUrl": self._url(info, "orig"), "duration": duration}
        name = info.get("name") or "file"
        return t("media.out.download", self.lang, name=name, url=self._url(info, "dl", name))

    def checked_image(self, file_id: str) -> dict[str, Any]:
        """A LINE image message for a JPEG/PNG ≤ 10 MB Slack file, sent as is (no conversion).

        The file is fetched once, streamed and counted chunk by chunk (never held whole): its first
        bytes must really be JPEG/PNG and its length within LINE's limit, whatever Slack's metadata
        says. :class:`NotSent` otherwise. The message points at the bridge's own signed ``/media``
        links (original, ≤ 1 MB preview), as every Slack → LINE image does.
        """
        info = self.slack.file_info(file_id)
        check_image_meta(info)
        head, size = b"", 0
        chunks = self._original(info)
        try:
            for chunk in chunks:
                if len(head) < 8:
                    head += chunk[:8]
                size += len(chunk)
                if size > IMAGE_MAX:
                    raise NotSent("media.out.too_large", size=f"> {IMAGE_MAX // MB} MB", limit="10 MB")
        finally:
            chunks.close()
        if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")):
            raise NotSent("media.out.not_image_data")
        return {"type": "image", "originalContentUrl": self._url(info, "orig"), "previewImageUrl": self._url(info, "preview")}

    def _duration(self, info: dict[str, Any], mime: str) -> int:
        """An M4A's duration, read from its ``moov/mvhd`` box (the file streamed to a temporary file)."""
        if mime not in MP4_AUDIO_TYPES:
            return 0
        chunks = self._original(info)
        with tempfile.TemporaryFile() as fh:
            try:
                for chunk in chunks:
                    fh.write(chunk)
            finally:
                chunks.close()
            return mp4_duration_ms(fh) or 0

    def _original(self, info: dict[str, Any]) -> Generator[bytes, None, None]:
        """The file's bytes as Slack serves them: kept in the media cache already (LINE's ``/media``
        fetch and the archive then read them there), or downloaded now and kept as they pass."""
        cache = self.services.media_cache
        kept = cache.open_original(str(info.get("id") or "")) if cache is not None else None
        if kept is not None:
            return file_chunks(kept, 64 * 1024)
        resp = self.slack.open_private(info.get("url_private_download") or info.get("url_private") or "")
        body = _chunks(resp)
        return cache.keep_original(str(info.get("id") or ""), body) if cache is not None else body


def _chunks(resp: Any) -> Generator[bytes, None, None]:
    try:
        yield from resp.iter_content(64 * 1024)
    finally:
        resp.close()


def check_image_meta(info: dict[str, Any]) -> None:
    """Slack's metadata of a file meant as a LINE image as is: JPEG/PNG, ≤ 10 MB, hosted by Slack, not a
    remote file (:class:`NotSent` otherwise)."""
    if is_remote_file(info):
        raise NotSent("media.out.remote")
    mime = str(info.get("mimetype") or "").lower()
    if mime not in LINE_IMAGE_TYPES:
        raise NotSent("media.out.format", kind="JPEG / PNG", got=mime or info.get("filetype") or "?")
    size = int(info.get("size") or 0)
    if size > IMAGE_MAX:
        raise NotSent("media.out.too_large", size=f"{size / MB:.1f} MB", limit="10 MB")
