"""auth.test, users.info, usergroups.users.list and conversations.* (info, members, history, replies)."""
from __future__ import annotations

import bisect
import copy
from typing import TYPE_CHECKING, Any

from emulators.slack.util import (
    _ApiError, _Ctx, _decode_cursor, _encode_cursor, _method, _opt_int, _opt_str, _parse_ts_arg,
    _public_message, _strip_private, _truthy, _ts_key,
)

if TYPE_CHECKING:
    from emulators.slack.core import SlackEmulator



@_method("auth.test")
def _auth_test(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {
        "url": f"https://{emu.team_domain}.slack.com/",
        "team": emu.team_name,
        "user": emu.bot_name,
        "team_id": emu.team_id,
        "user_id": emu.bot_user_id,
        "bot_id": emu.bot_id,
        "is_enterprise_install": False,
    }


@_method("users.info", "users:read")
def _users_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    user_id = args.get("user")
    if not user_id or user_id not in emu.users:
        raise _ApiError("user_not_found")
    return {"user": copy.deepcopy(emu.users[user_id])}


@_method("users.getPresence", "users:read")
def _users_get_presence(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """``presence`` is "active" unless a test set the user "away" (``emu.presence[user] = "away"``)."""
    user_id = args.get("user")
    if not user_id or user_id not in emu.users:
        raise _ApiError("user_not_found")
    presence = getattr(emu, "presence", {}).get(user_id, "active")
    return {"presence": presence, "online": presence == "active", "auto_away": False, "manual_away": presence == "away"}


@_method("usergroups.users.list", "usergroups:read")
def _usergroups_users_list(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """https://docs.slack.dev/reference/methods/usergroups.users.list : ``{"users": [...]}``; a disabled
    group answers only with ``include_disabled``, an unknown one ``no_such_subteam``."""
    group_id = _opt_str(args, "usergroup")
    if not group_id:
        raise _ApiError("invalid_arguments")
    group = getattr(emu, "usergroups", {}).get(group_id)
    if group is None or (group.get("date_delete") and not _truthy(args.get("include_disabled"))):
        raise _ApiError("no_such_subteam")
    return {"users": list(group["users"])}


def _channel_scope_check(emu: SlackEmulator, channel: str, kind: str) -> None:
    info = emu.channels[channel]
    prefix = "im" if info["is_im"] else "groups" if info["is_private"] else "channels"
    needed = f"{prefix}:{kind}"
    if needed not in emu.scopes:
        raise _ApiError("missing_scope", needed=needed, provided=",".join(sorted(emu.scopes)))


@_method("conversations.info")
def _conversations_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "read")
    info = copy.deepcopy(emu.channels[channel])
    if not _truthy(args.get("include_num_members")):
        info.pop("num_members", None)
    return {"channel": info}


@_method("conversations.members")
def _conversations_members(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "read")
    members = emu._members.get(channel, [])
    limit = _opt_int(args, "limit", 100, lo=1, hi=1000)
    start = 0
    cursor = _opt_str(args, "cursor")
    if cursor:
        uid = _decode_cursor(cursor, "user")
        try:
            start = members.index(uid)
        except ValueError:
            raise _ApiError("invalid_cursor") from None
    page = members[start:start + limit]
    nxt = _encode_cursor("user", members[start + limit]) if start + limit < len(members) else ""
    return {"members": page, "response_metadata": {"next_cursor": nxt}}


@_method("conversations.history")
def _conversations_history(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "history")
    keys = emu._top.get(channel, [])
    msgs = emu._msgs[channel]
    limit = _opt_int(args, "limit", 100, lo=1, hi=999)
    inclusive = _truthy(args.get("inclusive"))
    lo, hi = _range(keys, args, inclusive)
    cursor = _opt_str(args, "cursor")
    if cursor:
        hi = min(hi, bisect.bisect_right(keys, int(_cursor_key(cursor))))
    start = max(lo, hi - limit)
    with_meta = _truthy(args.get("include_all_metadata"))
    page = [_public_message(_strip_private(msgs[k]), with_meta) for k in reversed(keys[start:hi])]
    has_more = start > lo
    out: dict[str, Any] = {"messages": page, "has_more": has_more, "pin_count": 0,
                           "channel_actions_ts": None, "channel_actions_count": 0}
    if has_more:
        out["response_metadata"] = {"next_cursor": _encode_cursor("next_ts", str(keys[start - 1]))}
    return out


def _cursor_key(cursor: str) -> str:
    value = _decode_cursor(cursor, "next_ts")
    if not value.isdigit():
        raise _ApiError("invalid_cursor")
    return value


def _range(keys: list[int], args: dict[str, Any], inclusive: bool) -> tuple[int, int]:
    """Index range of ``keys`` between ``oldest`` and ``latest`` (exclusive unless ``inclusive``)."""
    oldest = _parse_ts_arg(args, "oldest")
    latest = _parse_ts_arg(args, "latest")
    lo, hi = 0, len(keys)
    if oldest is not None:
        ok = _ts_key(oldest)
        lo = bisect.bisect_left(keys, ok) if inclusive else bisect.bisect_right(keys, ok)
    if latest is not None:
        lk = _ts_key(latest)
        hi = bisect.bisect_right(keys, lk) if inclusive else bisect.bisect_left(keys, lk)
    return lo, max(lo, hi)


@_method("conversations.replies")
def _conversations_replies(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "history")
    ts = _parse_ts_arg(args, "ts", required=True)
    assert ts is not None
    msgs = emu._msgs[channel]
    parent = msgs.get(_ts_key(ts))
    if parent is None:
        raise _ApiError("thread_not_found")
    with_meta = _truthy(args.get("include_all_metadata"))
    if parent.get("thread_ts") and parent["thread_ts"] != parent["ts"]:
        # Asked with a reply's ts: Slack answers with just that message.
        return {"messages": [_public_message(_strip_private(parent), with_meta)], "has_more": False}
    keys = emu._threads.get((channel, _ts_key(ts)), [])
    limit = _opt_int(args, "limit", 1000, lo=1, hi=1000)
    lo, hi = _range(keys, args, _truthy(args.get("inclusive")))
    cursor = _opt_str(args, "cursor")
    if cursor:
        lo = max(lo, bisect.bisect_left(keys, int(_cursor_key(cursor))))
    # The parent always comes first (it counts towards limit) followed by replies, oldest first.
    end = min(hi, lo + max(1, limit - 1))
    page = [_public_message(_strip_private(parent), with_meta)]
    page += [_public_message(_strip_private(msgs[k]), with_meta) for k in keys[lo:end]]
    has_more = end < hi
    out: dict[str, Any] = {"messages": page, "has_more": has_more}
    if has_more:
        out["response_metadata"] = {"next_cursor": _encode_cursor("next_ts", str(keys[end]))}
    return out


