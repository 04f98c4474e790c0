"""A bounded on-disk cache of the images ``/media`` makes (previews, JPEG conversions, video stills).

LINE fetches a preview and its original more than once, and one broadcast image is fetched
for every recipient: without a cache each fetch downloaded the file from Slack and ran
Pillow again. On disk rather than in Redis: a converted image is up to 10 MB, Redis memory
is the bridge's queue and state and must not fill with a re-creatable copy, and every
gunicorn worker of the host shares the directory. Losing it (a new dyno) only costs one
re-encoding per variant.

Entries are named by a hash of (file id, variant): a Slack file's bytes never change under
its id. Writes go to a temporary file renamed into place (readers never see half a file);
reads refresh the entry's time, and the oldest entries are removed when the directory
grows beyond ``max_bytes``. The directory is private to the bridge's user (0700).
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024 * 1024
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png"}
TYPES = {v: k for k, v in SUFFIXES.items()}


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
