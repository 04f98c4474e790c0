"""A bounded on-disk cache of the images ``/media`` makes (previews, JPEG conversions, video stills),
and of staff files' originals as downloaded from Slack.

LINE fetches a preview and its original more than once, and one broadcast image is fetched
for every recipient: without a cache each fetch downloaded the file from Slack and ran
Pillow again. A staff file's original is wanted twice more — by LINE through ``/media`` and
by the media archive (:mod:`bridge.archive.jobs`) — so whichever of them downloads it first
keeps it here (:meth:`VariantCache.keep_original`, written as it streams past) and the other
reads it from here (:meth:`VariantCache.open_original`): Slack serves the file once. An
original larger than a quarter of the cache is not kept (it would flush everything else). On disk rather than in Redis: a converted image is up to 10 MB, Redis memory
is the bridge's queue and state and must not fill with a re-creatable copy, and every
gunicorn worker of the host shares the directory. Losing it (a new dyno) only costs one
re-encoding per variant.

Entries are named by a hash of (file id, variant): a Slack file's bytes never change under
its id. Only complete downloads are kept: a stream cut short leaves nothing behind. Writes go to a temporary file renamed into place (readers never see half a file);
reads refresh the entry's time, and the oldest entries are removed when the directory
grows beyond ``max_bytes``. The directory is private to the bridge's user (0700).
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from typing import BinaryIO, Generator, Iterable

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024 * 1024
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png"}
TYPES = {v: k for k, v in SUFFIXES.items()}
ORIGINAL = "orig"        # the variant name of a file's bytes as Slack serves them
ORIGINAL_SUFFIX = ".bin"  # never one of SUFFIXES: :meth:`VariantCache.get` does not return originals


def default_directory(namespace: str) -> str:
    return os.path.join(tempfile.gettempdir(), f"lsb-media-cache-{namespace}-{os.getuid()}")


class VariantCache:
    def __init__(self, directory: str, max_bytes: int = MAX_BYTES):
        self.directory = directory
        self.max_bytes = max_bytes

    def _stem(self, file_id: str, variant: str) -> str:
        return os.path.join(self.directory, hashlib.sha256(f"{file_id}\0{variant}".encode()).hexdigest())

    def get(self, file_id: str, variant: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of a cached variant, or None."""
        stem = self._stem(file_id, variant)
        for suffix, content_type in TYPES.items():
            try:
                with open(stem + suffix, "rb") as fh:
                    data = fh.read()
                os.utime(stem + suffix)
                return data, content_type
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("media cache: cannot read %s: %s", stem + suffix, exc)
        return None

    def put(self, file_id: str, variant: str, data: bytes, content_type: str) -> None:
        """Keep ``data``; a full or unwritable disk only costs the cache, never the answer."""
        suffix = SUFFIXES.get(content_type)
        if not suffix or len(data) > self.max_bytes:
            return
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self._stem(file_id, variant) + suffix)
            self._trim()
        except OSError as exc:
            log.warning("media cache: cannot write in %s: %s", self.directory, exc)

    def open_original(self, file_id: str) -> BinaryIO | None:
        """The kept original of ``file_id`` (a binary file: close it), or None (never kept, or evicted)."""
        if not file_id:
            return None
        path = self._stem(file_id, ORIGINAL) + ORIGINAL_SUFFIX
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("media cache: cannot read %s: %s", path, exc)
            return None
        try:
            os.utime(path)
        except OSError:
            pass   # evicted meanwhile: the open file is still whole
        return fh

    def keep_original(self, file_id: str, chunks: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Yield ``chunks`` (a download from Slack) and keep a copy as the original of ``file_id``.

        The copy is renamed into place only once every chunk went past: a consumer that stops early
        (a client gone, a file found too big) or a download that breaks leaves nothing. A full or
        unwritable disk only costs the copy, never the download."""
        part, out, size = None, None, 0
        if file_id:
            try:
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                fd, part = tempfile.mkstemp(dir=self.directory, suffix=".part")
                out = os.fdopen(fd, "wb")
            except OSError as exc:
                log.warning("media cache: cannot write in %s: %s", self.directory, exc)
        complete = False
        try:
            for chunk in chunks:
                if out is not None:
                    size += len(chunk)
                    try:
                        if size > self.max_bytes // 4:
                            raise OSError(f"over {self.max_bytes // 4} bytes")
                        out.write(chunk)
                    except OSError as exc:
                        log.info("media cache: original of %s not kept: %s", file_id, exc)
                        _discard(out, part)
                        out = None
                yield chunk
            complete = True
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()   # the download itself (its connection) ends with the copy
            if out is not None:
                if not complete:
                    _discard(out, part)
                else:
                    try:
                        out.close()
                        os.replace(part, self._stem(file_id, ORIGINAL) + ORIGINAL_SUFFIX)
                        self._trim()
                    except OSError as exc:
                        log.warning("media cache: cannot keep the original of %s: %s", file_id, exc)
                        _discard(out, part)

    def _trim(self) -> None:
        entries = []
        with os.scandir(self.directory) as it:
            for e in it:
                try:
                    st = e.stat()
                except FileNotFoundError:
                    continue
                entries.append((st.st_mtime, st.st_size, e.path))
        total = sum(size for _m, size, _p in entries)
        for _mtime, size, path in sorted(entries):
            if total <= self.max_bytes:
                return
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            total -= size


def file_chunks(fh: BinaryIO, size: int = 1 << 20) -> Generator[bytes, None, None]:
    """The chunks of a kept original (:meth:`VariantCache.open_original`), closing it at the end."""
    try:
        yield from iter(lambda: fh.read(size), b"")
    finally:
        fh.close()


def _discard(out: BinaryIO, part: str) -> None:
    """A copy not kept: its temporary file goes (already gone is fine)."""
    try:
        out.close()
    except OSError:
        pass
    try:
        os.remove(part)
    except OSError:
        pass
