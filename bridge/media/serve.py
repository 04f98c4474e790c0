"""``GET /media/<token>``: what LINE (or a friend's browser) fetches for a Slack file.

Streams from Slack's private file URL with the bot token (only ever from Slack's own file
hosts: :mod:`bridge.slack.file_hosts`; a remote file is never fetched). Images the bridge
makes itself (≤ 1 MB previews, JPEG conversions, video stills) are made once per file and
variant and kept in a bounded on-disk cache (:mod:`bridge.media.cache`); originals are
streamed, and kept in that cache as they pass: the media archive's copy of a staff file
(:mod:`bridge.archive.jobs`) reads them there, and an original the archive downloaded first is
served from there, so Slack serves each staff file once. Answers carry a strong ``ETag`` (``If-None-Match`` → 304 without
asking Slack) and ``Cache-Control: private`` up to the link's expiry.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Iterable

from bridge.media.probe import JPEG_MAX_SIDE, PREVIEW_MAX_BYTES, PREVIEW_SIDE, still_image, to_jpeg
from bridge.media.cache import VariantCache, file_chunks
from bridge.media.sign import LinkInvalid, read_link
from bridge.model import DeliveryFailed, RetryLater
from bridge.settings import Settings
from bridge.slack.file_hosts import is_remote_file

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
IMAGE_MAX_BYTES = 10 * 1024 * 1024
PREVIEW_THUMBS = ("thumb_480", "thumb_360", "thumb_720", "thumb_800", "thumb_160")
MADE = ("preview", "still", "jpeg")  # variants the bridge makes (and caches) rather than streams
MAX_AGE = 24 * 3600  # a client keeps an answer at most this long (and never past the link's expiry)


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


def _spool(resp: Any, chunks: Iterable[bytes] | None = None) -> Any:
    """``resp``'s body (or ``chunks`` of it) in a temporary file, rewound."""
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
    try:
        for chunk in chunks if chunks is not None else resp.iter_content(CHUNK):
            spool.write(chunk)
    finally:
        resp.close()
    spool.seek(0)
    return spool


def _image(data: bytes, content_type: str = "image/jpeg") -> Served:
    return Served(200, data, {"Content-Type": content_type, "Content-Length": str(len(data))})


def etag_of(file_id: str, variant: str) -> str:
    """A strong ETag: the bytes of a (file, variant) never change (a Slack file's content is fixed under its id)."""
    return '"' + hashlib.sha256(f"{file_id}\0{variant}".encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _plain(status: int, text: str, **headers: str) -> Served:
    return Served(status, text.encode(), {"Content-Type": "text/plain", "Cache-Control": "no-store", **headers})


def serve_media(settings: Settings, slack: Any, token: str, *, cache: VariantCache | None = None,
                if_none_match: str = "") -> Served:
    """The answer to ``GET /media/<token>``: cacheable by the client until the link expires."""
    try:
        file_id, variant, left = read_link(settings, token)
    except LinkInvalid as exc:
        return _plain(410, "link expired") if exc.expired else _plain(404, "not found")
    etag = etag_of(file_id, variant)
    caching = {"ETag": etag, "Cache-Control": f"private, max-age={int(min(MAX_AGE, left))}"}
    if if_none_match and _matches(if_none_match, etag):
        return Served(304, b"", caching)
    served = _fetch(slack, file_id, variant, cache)
    if served.status == 200:
        served.headers.update(caching)
    return served


def _fetch(slack: Any, file_id: str, variant: str, cache: VariantCache | None) -> Served:
    try:
        if variant in MADE and cache is not None:
            hit = cache.get(file_id, variant)
            if hit:
                return _image(*hit)
        info = slack.file_info(file_id)
        if is_remote_file(info):  # never minted for one; an old link or a file turned remote
            log.info("media %s (%s): a remote file, not fetched", file_id, variant)
            return _plain(404, "not found")
        if variant in MADE:
            data, content_type = _made(slack, info, variant, cache)
            if cache is not None:
                cache.put(file_id, variant, data, content_type)
            return _image(data, content_type)
        headers = {"Content-Type": info.get("mimetype") or "application/octet-stream"}
        if variant == "dl":
            headers["Content-Disposition"] = "attachment"
        kept = cache.open_original(file_id) if cache is not None else None
        if kept is not None:   # downloaded already (by the archive, or an earlier fetch)
            headers["Content-Length"] = str(os.fstat(kept.fileno()).st_size)
            return Served(200, file_chunks(kept, CHUNK), headers)
        resp = slack.open_private(info.get("url_private_download") or info.get("url_private") or "")
        if resp.headers.get("Content-Length"):
            headers["Content-Length"] = resp.headers["Content-Length"]
        body = _stream(resp)
        return Served(200, cache.keep_original(file_id, body) if cache is not None else body, headers)
    except DeliveryFailed as exc:
        log.info("media %s (%s) unavailable: %s", file_id, variant, exc)
        return _plain(404, "not found")
    except RetryLater as exc:
        log.warning("media %s (%s): Slack unavailable: %s", file_id, variant, exc)
        return _plain(503, "try again", **{"Retry-After": str(int(exc.delay) or 5)})
    except OSError as exc:  # Pillow could not read the image
        log.warning("media %s (%s) could not be converted: %s", file_id, variant, exc)
        return _plain(415, "unsupported image")


def _made(slack: Any, info: dict[str, Any], variant: str, cache: VariantCache | None = None) -> tuple[bytes, str]:
    """(bytes, content type) of a variant the bridge makes itself: preview, video still, JPEG conversion."""
    if variant == "still" and not info.get("thumb_video"):
        return still_image(), "image/jpeg"
    if variant == "jpeg":   # made from the original: the one kept, or downloaded (and kept) now
        kept = cache.open_original(info["id"]) if cache is not None else None
        if kept is not None:
            with kept:
                return to_jpeg(kept, JPEG_MAX_SIDE, IMAGE_MAX_BYTES), "image/jpeg"
        resp = slack.open_private(info.get("url_private_download") or info.get("url_private") or "")
        with _spool(resp, cache.keep_original(info["id"], _stream(resp)) if cache is not None else None) as spool:
            return to_jpeg(spool, JPEG_MAX_SIDE, IMAGE_MAX_BYTES), "image/jpeg"
    url = info.get("thumb_video") if variant == "still" else next(
        (info[k] for k in PREVIEW_THUMBS if info.get(k)), info.get("url_private_download") or "")
    with _spool(slack.open_private(url)) as spool:
        data = spool.read(PREVIEW_MAX_BYTES + 1)
        if len(data) <= PREVIEW_MAX_BYTES and data[:3] == b"\xff\xd8\xff":
            return data, "image/jpeg"
        if len(data) <= PREVIEW_MAX_BYTES and data[:8] == b"\x89PNG\r\n\x1a\n":
            return data, "image/png"
        spool.seek(0)
        return to_jpeg(spool, PREVIEW_SIDE, PREVIEW_MAX_BYTES), "image/jpeg"
