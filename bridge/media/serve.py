"""``GET /media/<token>``: what LINE (or a friend's browser) fetches for a Slack file.

Streams from Slack's private file URL with the bot token; nothing is copied to Redis or
disk except when an image must be re-encoded (JPEG conversion, ≤ 1 MB previews), which
happens in memory of the web process for that one request.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from typing import Any, Iterable

from bridge.media.probe import JPEG_MAX_SIDE, PREVIEW_MAX_BYTES, PREVIEW_SIDE, still_image, to_jpeg
from bridge.media.sign import LinkInvalid, read_token
from bridge.model import DeliveryFailed, RetryLater
from bridge.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
IMAGE_MAX_BYTES = 10 * 1024 * 1024
PREVIEW_THUMBS = ("thumb_480", "thumb_360", "thumb_720", "thumb_800", "thumb_160")


@dataclass
class Served:
    status: int
    body: Iterable[bytes] | bytes
    headers: dict[str, str] = field(default_factory=dict)


def _stream(resp: Any) -> Iterable[bytes]:
    try:
        yield from resp.iter_content(CHUNK)
    finally:
        resp.close()


def _spool(resp: Any) -> Any:
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
    try:
        for chunk in resp.iter_content(CHUNK):
            spool.write(chunk)
    finally:
        resp.close()
    spool.seek(0)
    return spool


def _jpeg(data: bytes) -> Served:
    return Served(200, data, {"Content-Type": "image/jpeg", "Content-Length": str(len(data))})


def serve_media(settings: Settings, slack: Any, token: str) -> Served:
    try:
        file_id, variant = read_token(settings, token)
    except LinkInvalid as exc:
        return Served(410 if exc.expired else 404, b"link expired" if exc.expired else b"not found",
                      {"Content-Type": "text/plain"})
    try:
        info = slack.file_info(file_id)
        if variant == "still" and not info.get("thumb_video"):
            return _jpeg(still_image())
        if variant in ("preview", "still"):
            url = info.get("thumb_video") if variant == "still" else next(
                (info[k] for k in PREVIEW_THUMBS if info.get(k)), info.get("url_private_download"))
            with _spool(slack.open_private(url)) as spool:
                data = spool.read(PREVIEW_MAX_BYTES + 1)
                if len(data) <= PREVIEW_MAX_BYTES and data[:3] == b"\xff\xd8\xff":
                    return _jpeg(data)
                if len(data) <= PREVIEW_MAX_BYTES and data[:8] == b"\x89PNG\r\n\x1a\n":
                    return Served(200, data, {"Content-Type": "image/png", "Content-Length": str(len(data))})
                spool.seek(0)
                return _jpeg(to_jpeg(spool, PREVIEW_SIDE, PREVIEW_MAX_BYTES))
        resp = slack.open_private(info.get("url_private_download") or info["url_private"])
        if variant == "jpeg":
            with _spool(resp) as spool:
                return _jpeg(to_jpeg(spool, JPEG_MAX_SIDE, IMAGE_MAX_BYTES))
        headers = {"Content-Type": info.get("mimetype") or "application/octet-stream"}
        if resp.headers.get("Content-Length"):
            headers["Content-Length"] = resp.headers["Content-Length"]
        if variant == "dl":
            headers["Content-Disposition"] = "attachment"
        return Served(200, _stream(resp), headers)
    except DeliveryFailed as exc:
        log.info("media %s (%s) unavailable: %s", file_id, variant, exc)
        return Served(404, b"not found", {"Content-Type": "text/plain"})
    except RetryLater as exc:
        log.warning("media %s (%s): Slack unavailable: %s", file_id, variant, exc)
        return Served(503, b"try again", {"Content-Type": "text/plain", "Retry-After": str(int(exc.delay) or 5)})
    except OSError as exc:  # Pillow could not read the image
        log.warning("media %s (%s) could not be converted: %s", file_id, variant, exc)
        return Served(415, b"unsupported image", {"Content-Type": "text/plain"})
