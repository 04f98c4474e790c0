"""Compatibility module: the LINE emulator now lives in the package :mod:`emulators.line`.

Every name importable from here before the split still is, and
``python -m emulators.line_api --port 9001`` still runs the standalone server.
"""
from __future__ import annotations

from emulators.line.cli import main
from emulators.line.core import HANDLER_NAMES, LineEmulator
from emulators.line.routes import ROUTES
from emulators.line.spec import (
    _REF_PREFIX,
    Operation,
    SpecIndex,
    _error_detail,
    _load_yaml,
    _property_path,
    build_json_schema_defs,
    default_spec_dir,
)
from emulators.line.wire import (
    LINE_DATA_HOST,
    MAX_MESSAGES,
    MAX_MULTICAST_TO,
    MAX_TEXT_UTF16,
    MSG_AUTH_FAILED,
    MSG_AUTH_REQUIRED,
    MSG_FAILED_TO_SEND,
    MSG_INVALID_JSON,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_NOT_FOUND,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_ACCEPTED,
    MSG_RETRY_KEY_INVALID,
    MSG_RETRY_KEY_NOT_SUPPORTED,
    RETRY_KEY_OPERATIONS,
    _UUID_RE,
    Channel,
    Delivery,
    RecordedRequest,
    _Chat,
    _error,
    _extra_rules,
    _Fault,
    _Reply,
    _User,
    _utf16_len,
    redirect_data_api,
)

__all__ = [
    "Channel",
    "Delivery",
    "LineEmulator",
    "RecordedRequest",
    "SpecIndex",
    "default_spec_dir",
    "redirect_data_api",
]

if __name__ == "__main__":
    main()
