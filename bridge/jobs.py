"""rq jobs: importable module-level functions taking primitives only."""
from __future__ import annotations

from bridge.runtime import get_runtime


def drain(stream: str) -> int:
    """Process the queued work of one conversation stream, in order (see :mod:`bridge.inbox`)."""
    rt = get_runtime()
    return rt.inbox.drain(stream, rt.bridge.process_item, rt.bridge.dead_letter)


def refresh_parent(conv_id: str) -> None:
    """Re-render a conversation's thread parent (coalesced, see Bridge.request_parent_refresh)."""
    get_runtime().bridge.run_parent_refresh(conv_id)
