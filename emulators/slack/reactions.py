"""reactions.add / reactions.remove / reactions.get."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.slack.util import (
    _REACTION_NAME_RE, _ApiError, _Ctx, _method, _parse_ts_arg, _public_message, _req_str, _strip_private,
)

if TYPE_CHECKING:
    from emulators.slack.core import SlackEmulator


def _reaction_args(emu: SlackEmulator, args: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    if not args.get("channel") and not args.get("timestamp") and not args.get("file"):
        raise _ApiError("no_item_specified")
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "timestamp", required=True)
    assert ts is not None
    raw = _req_str(args, "name")
    # Accept ":thumbsup:" as "thumbsup"; the stored/evented name has no colons.
    name = raw[1:-1] if len(raw) > 2 and raw.startswith(":") and raw.endswith(":") else raw
    if not _REACTION_NAME_RE.match(name):
        raise _ApiError("invalid_name")
    msg = emu._find_message(channel, ts)
    return channel, msg, name


@_method("reactions.add", "reactions:write")
def _reactions_add(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _channel, msg, name = _reaction_args(emu, args)
    if not emu._react(msg, name, emu.bot_user_id):
        raise _ApiError("already_reacted")
    return {}


@_method("reactions.remove", "reactions:write")
def _reactions_remove(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _channel, msg, name = _reaction_args(emu, args)
    if not emu._unreact(msg, name, emu.bot_user_id):
        raise _ApiError("no_reaction")
    return {}


@_method("reactions.get", "reactions:read")
def _reactions_get(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "timestamp", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    return {"type": "message", "channel": channel, "message": _public_message(_strip_private(msg), False)}


