"""Compatibility module: the Slack Web API emulator now lives in the :mod:`emulators.slack` package.

``from emulators.slack_api import SlackEmulator, DEFAULT_SCOPES, RecordedCall, rich_text_blocks``
keeps working, and so does ``python -m emulators.slack_api --host 127.0.0.1 --port 9002``.
"""
from __future__ import annotations

from emulators.slack import (
    DEFAULT_SCOPES, RateLimitStats, RecordedCall, SlackEmulator, TokenBucket, main, rich_text_blocks,
)

__all__ = ["DEFAULT_SCOPES", "RateLimitStats", "RecordedCall", "SlackEmulator", "TokenBucket", "main",
           "rich_text_blocks"]

if __name__ == "__main__":
    main()
