"""Where a friend message's archive entry is filed (its time), shared by the relay and the message map.

The archive itself — the entry schema and the one recording component — is :mod:`bridge.archive`.
"""
from __future__ import annotations

from bridge.model import InboundMessage


def inbound_time(msg: InboundMessage, slack_ts: str) -> float:
    """The time a friend message's entry is filed under (kept in the message map to find it again)."""
    return msg.timestamp_ms / 1000 if msg.timestamp_ms else float(slack_ts or 0)
