"""The media archive: content-addressed files, a local directory or an object store (fsspec).

Files are stored once per content (SHA-256), under ``<root>/<aa>/<bb>/<sha256>`` — the same photo
sent to three friends is one file. The store is chosen by :meth:`MediaArchive.from_settings`:

- ``BRIDGE_ARCHIVE_URL`` set (``s3://bucket/prefix``, or any fsspec URL such as ``gs://…``,
  ``memory://…``): that object store, through fsspec (s3fs for S3). ``BRIDGE_ARCHIVE_ENDPOINT``
  names an S3-compatible endpoint (MinIO, Cloudflare R2, moto in the tests); credentials come from
  the usual AWS chain (``AWS_ACCESS_KEY_ID``…, instance roles), read by botocore itself.
- otherwise the local directory ``BRIDGE_ARCHIVE_DIR`` (default ``./archive``).

Writing never sits on the relay's path: the relay *spools* the bytes it already streams
(:meth:`spool`: a copy to a local spool directory, hashed on the way), and :meth:`flush` moves
spooled files into the archive later (the worker's ticker; retried until the store takes them).
A local archive's spool is inside the archive directory, so flushing it is a rename.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import IO, BinaryIO, Iterable, Union

log = logging.getLogger(__name__)

CHUNK = 1 << 20
HEX = frozenset("0123456789abcdef")


#: What :meth:`MediaArchive.put` and :meth:`MediaArchive.spool` take: bytes, a readable binary file,
#: a local file path, or the chunks of a download as they arrive.
Source = Union[bytes, BinaryIO, str, Iterable[bytes]]


def valid_sha(sha256: str) -> bool:
    return len(sha256) == 64 and set(sha256) <= HEX


@dataclass(frozen=True)
class FlushResult:
    moved: int          # spooled files now in the archive
    pending: int        # spooled files still waiting (the store failed)
    error: str = ""     # the store's last error ("" when every file went in)


class MediaArchive:
    def __init__(self, root: str, *, spool_dir: str | None = None, storage_options: dict | None = None):
        """``root``: a local directory path or an fsspec URL (``s3://bucket/prefix``)."""
        self.url = root
        if "://" in root:
            import fsspec

            protocol, _, path = root.partition("://")
            self.fs = fsspec.filesystem(protocol, **(storage_options or {}))
            self.root = path.rstrip("/")
            self.local = False
        else:
            self.fs = _LocalFiles()   # the default needs no library: plain files
            self.root = os.path.abspath(root)
            self.local = True
        default_spool = os.path.join(self.root, ".spool") if self.local else os.path.join(
            tempfile.gettempdir(), "lsb-archive-spool", hashlib.sha256(root.encode()).hexdigest()[:12])
        self.spool_dir = spool_dir or default_spool
        os.makedirs(self.spool_dir, exist_ok=True)

    @classmethod
    def from_settings(cls, settings) -> "MediaArchive":
        if settings.archive_url:
            options = {"client_kwargs": {"endpoint_url": settings.archive_endpoint}} if settings.archive_endpoint else {}
            return cls(settings.archive_url, spool_dir=settings.archive_spool or None, storage_options=options)
        return cls(settings.archive_dir, spool_dir=settings.archive_spool or None)

    # -- paths ------------------------------------------------------------------------------
    def path(self, sha256: str) -> str:
        if not valid_sha(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return f"{self.root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    # -- the store itself ----------------------------------------------------------------------
    def put(self, source: Source, type: str = "application/octet-stream", name: str = "") -> dict:
        """Store bytes (a ``bytes``, a readable binary file, a local file path, or chunks) now; returns the
        media reference ``{"sha256", "type", "size"}`` (+ ``"name"``). Stored once per content."""
        meta, tmp = self._spool(source, type, name)
        try:
            self._move_in(tmp, meta["sha256"])
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return meta

    def exists(self, sha256: str) -> bool:
        return self.fs.exists(self.path(sha256))

    def open(self, sha256: str) -> IO[bytes]:
        """The file's bytes (a binary file object; close it): from the store, or from this host's spool
        while it waits there (the store is catching up). FileNotFoundError when absent."""
        try:
            return self.fs.open(self.path(sha256), "rb")
        except FileNotFoundError:
            spooled = os.path.join(self.spool_dir, sha256)
            if os.path.exists(spooled):
                return open(spooled, "rb")
            raise

    def size(self, sha256: str) -> int:
        return int(self.fs.size(self.path(sha256)))

    def delete(self, sha256: str) -> bool:
        """Remove one file (the caller checks no conversation refers to it any more); True if it existed."""
        path = self.path(sha256)
        try:
            self.fs.rm_file(path)
            return True
        except FileNotFoundError:
            return False

    def discard(self, sha256: str) -> bool:
        """Remove a file wherever it is: stored, or still waiting in this host's spool; True if it existed."""
        spooled = os.path.join(self.spool_dir, sha256)
        existed = False
        if valid_sha(sha256) and os.path.exists(spooled):
            os.unlink(spooled)
            existed = True
        return self.delete(sha256) or existed

    def walk(self) -> Iterable[str]:
        """Every stored hash (for checks and tests: lists the store)."""
        for path in self.fs.find(self.root):
            name = path.rsplit("/", 1)[-1]
            if valid_sha(name) and "/.spool" not in path:
                yield name

    def check(self) -> str:
        """"" when the store answers (a listing of its root), else the error (doctor, health)."""
        try:
            if self.local:
                os.makedirs(self.root, exist_ok=True)
                if not os.access(self.root, os.W_OK):
                    return f"{self.root} is not writable"
            else:
                self.fs.ls(self.root.split("/", 1)[0], detail=False)
            return ""
        except Exception as exc:  # any backend error: reported, not raised
            return f"{type(exc).__name__}: {str(exc)[:200]}"

    # -- off the relay's path: spool now, flush later -------------------------------------------
    def spool(self, source: Source, type: str = "application/octet-stream", name: str = "") -> dict:
        """Copy the bytes to the local spool (hashing them on the way) and return their reference;
        :meth:`flush` stores them. Local disk only: never waits for the object store."""
        meta, tmp = self._spool(source, type, name)
        final = os.path.join(self.spool_dir, meta["sha256"])
        os.replace(tmp, final)   # the same content spooled twice is one file
        return meta

    def spooled(self) -> list[str]:
        return sorted(n for n in os.listdir(self.spool_dir) if valid_sha(n))

    def flush(self, limit: int = 200) -> FlushResult:
        """Move spooled files into the store (oldest first); stops at the first failure (the store is
        down: the rest waits for the next round). Safe to run in several processes at once."""
        moved, error = 0, ""
        names = self.spooled()
        names.sort(key=lambda n: _mtime(os.path.join(self.spool_dir, n)))
        for sha in names[:limit]:
            src = os.path.join(self.spool_dir, sha)
            if not os.path.exists(src):
                continue   # another process flushed it
            try:
                self._move_in(src, sha)
            except Exception as exc:
                if not os.path.exists(src):
                    continue   # another process flushed it meanwhile
                error = f"{type(exc).__name__}: {str(exc)[:200]}"   # the store failed: keep the file
                log.warning("media archive: could not store %s: %s", sha[:12], error)
                break
            moved += 1
        return FlushResult(moved, len(self.spooled()), error)

    # -- internals --------------------------------------------------------------------------------
    def _spool(self, source: Source, type: str, name: str) -> tuple[dict, str]:
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.spool_dir, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except BaseException:
            os.unlink(tmp)
            raise
        meta = {"sha256": digest.hexdigest(), "type": type or "application/octet-stream", "size": size}
        if name:
            meta["name"] = name
        return meta, tmp

    def _move_in(self, src: str, sha256: str) -> None:
        dest = self.path(sha256)
        if self.local:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.exists(dest):
                os.unlink(src)
                return
            try:
                os.replace(src, dest)   # atomic: a reader never sees half a file
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                part = f"{dest}.part-{os.getpid()}"   # the spool is on another file system: copy, then rename
                shutil.copyfile(src, part)
                os.replace(part, dest)
                os.unlink(src)
            return
        if not self.fs.exists(dest):
            self.fs.put_file(src, dest)
        os.unlink(src)


class _LocalFiles:
    """The few fsspec calls the archive makes, on the local file system."""

    exists = staticmethod(os.path.exists)

    @staticmethod
    def open(path: str, mode: str = "rb") -> IO[bytes]:
        return open(path, mode)

    @staticmethod
    def size(path: str) -> int:
        return os.path.getsize(path)

    @staticmethod
    def rm_file(path: str) -> None:
        os.unlink(path)

    @staticmethod
    def find(root: str) -> list[str]:
        return sorted(os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files)


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except FileNotFoundError:
        return time.time()


def _chunks(source: Source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
    elif isinstance(source, str):
        with open(source, "rb") as f:
            yield from iter(lambda: f.read(CHUNK), b"")
    elif hasattr(source, "read"):
        yield from iter(lambda: source.read(CHUNK), b"")
    else:
        yield from source   # chunks as they arrive (a download)


def copy_stream(src: IO[bytes], dst: IO[bytes]) -> None:
    shutil.copyfileobj(src, dst, CHUNK)
