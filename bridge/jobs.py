"""rq jobs: importable module-level functions taking primitives only (names in :mod:`bridge.work`)."""
from __future__ import annotations

from bridge.runtime import get_runtime


def drain(stream: str) -> int:
    """Process the queued work of one stream, in order (see :mod:`bridge.inbox`)."""
    rt = get_runtime()
    return rt.inbox.drain(stream, rt.domain.process_item, rt.domain.dead_letter, batch=rt.domain.process_head)


def refresh_parent(conv_id: str) -> None:
    """Re-render a conversation's thread parent (coalesced, see Portals.request_parent_refresh)."""
    get_runtime().domain.portals.run_parent_refresh(conv_id)
