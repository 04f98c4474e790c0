"""Deleting archived media files nobody refers to any more (retention and forget)."""
from __future__ import annotations

import logging

from bridge.archive.media import MediaArchive, valid_sha

log = logging.getLogger(__name__)


def discard(archive: MediaArchive | None, hashes: list[str]) -> int:
    """Delete the files (and this host's spooled copy not yet stored); returns how many existed.
    A file that cannot be deleted now is logged: its reference set is gone, so nothing shows it."""
    if archive is None:
        return 0
    n = 0
    for sha in hashes:
        if not valid_sha(sha):
            continue
        try:
            n += archive.discard(sha)
        except OSError as exc:
            log.warning("media archive: could not delete %s: %s", sha[:12], exc)
    return n
