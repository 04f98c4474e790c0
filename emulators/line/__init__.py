"""LINE Messaging API emulator, split by method family.

* :mod:`.spec` - the OpenAPI document (routing, JSON-schema validation);
* :mod:`.routes` - the operation table used when the document is absent;
* :mod:`.wire` - error texts, limits, records, LINE's error shape;
* :mod:`.core` - :class:`LineEmulator`: state, faults, recording, dispatch;
* :mod:`.messaging`, :mod:`.chats`, :mod:`.content`, :mod:`.bot` - the handlers;
* :mod:`.control` - ``/_emulator/...`` endpoints; :mod:`.cli` - standalone server.

``emulators.line_api`` re-exports the public names, as before the split.
"""
from emulators.line.core import LineEmulator
from emulators.line.spec import Operation, SpecIndex, build_json_schema_defs, default_spec_dir
from emulators.line.wire import LINE_DATA_HOST, Channel, Delivery, RecordedRequest, redirect_data_api

__all__ = [
    "Channel",
    "Delivery",
    "LINE_DATA_HOST",
    "LineEmulator",
    "Operation",
    "RecordedRequest",
    "SpecIndex",
    "build_json_schema_defs",
    "default_spec_dir",
    "redirect_data_api",
]
