"""views.open / views.push / views.update / views.publish.

A modal is a stack: views.open starts one, views.push puts a view on top of the modal an interaction
came from (its trigger_id), at most 3 views deep; each view names its stack's ``root_view_id`` and the
``previous_view_id`` under it, as Slack answers.
"""
from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from emulators.slack.blockkit import _validate_view
from emulators.slack.util import _ApiError, _Ctx, _method, _opt_str, _req, _req_str

if TYPE_CHECKING:
    from emulators.slack.core import SlackEmulator


# ------------------------------------------------------------------ views
def _check_trigger(emu: SlackEmulator, args: dict[str, Any]) -> None:
    trigger_id = _opt_str(args, "trigger_id")
    if not trigger_id and not _opt_str(args, "interactivity_pointer"):
        raise _ApiError("invalid_arguments", "[ERROR] missing required field: trigger_id")
    issued = emu._triggers.get(trigger_id or "")
    if issued is not None and time.monotonic() - issued > 3.0:
        # "trigger_id ... expires in 3 seconds" (https://docs.slack.dev/interactivity/handling-user-interaction)
        raise _ApiError("expired_trigger_id")


def _view_body(emu: SlackEmulator, args: dict[str, Any], *, home: bool = False) -> dict[str, Any]:
    view = _req(args, "view")
    errs = _validate_view(view, home=home)
    if errs:
        raise _ApiError("invalid_arguments", *[f"[ERROR] {e}" for e in errs])
    return view


def _store_view(emu: SlackEmulator, view: dict[str, Any], *, view_id: str | None = None,
                root_id: str | None = None, previous_id: str | None = None,
                user: str | None = None) -> dict[str, Any]:
    vid = view_id or emu._new_id("V")
    stored = {
        "id": vid,
        "team_id": emu.team_id,
        "type": view.get("type"),
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_id or vid,
        "previous_view_id": previous_id,
        "app_id": emu.app_id,
        "app_installed_team_id": emu.team_id,
        "bot_id": emu.bot_id,
    }
    if user:
        stored["_user"] = user
    emu.views[vid] = stored
    return {k: v for k, v in stored.items() if not k.startswith("_")}


@_method("views.open")
def _views_open(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _check_trigger(emu, args)
    view = _view_body(emu, args)
    _exchange(emu, args)
    return {"view": _store_view(emu, view)}


#: "After a modal is opened, the app is limited to pushing 2 additional views." (views.push)
PUSH_LIMIT = 3


def _exchange(emu: SlackEmulator, args: dict[str, Any]) -> str:
    """The trigger_id of a views.open / views.push call, used up by it (a trigger opens one view)."""
    trigger_id = _opt_str(args, "trigger_id") or _opt_str(args, "interactivity_pointer") or ""
    with emu._lock:
        if trigger_id in emu._exchanged_triggers:
            raise _ApiError("exchanged_trigger_id")
        emu._exchanged_triggers.add(trigger_id)
    return trigger_id


def _depth(emu: SlackEmulator, view: dict[str, Any]) -> int:
    n = 1
    while view.get("previous_view_id") and view["previous_view_id"] in emu.views and n <= PUSH_LIMIT:
        view = emu.views[view["previous_view_id"]]
        n += 1
    return n


@_method("views.push")
def _views_push(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """Only with a trigger from an interaction inside an open modal ("a valid trigger_id generated from
    an interaction within the existing modal"): a message button's trigger has no stack to push on."""
    _check_trigger(emu, args)
    view = _view_body(emu, args)
    trigger_id = _exchange(emu, args)
    below = emu.views.get(emu._trigger_views.get(trigger_id, ""))
    if below is None or below.get("type") != "modal":
        raise _ApiError("not_found")
    if _depth(emu, below) >= PUSH_LIMIT:
        raise _ApiError("push_limit_reached")
    return {"view": _store_view(emu, view, root_id=below["root_view_id"], previous_id=below["id"],
                                user=below.get("_user"))}


@_method("views.update")
def _views_update(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    view_id = _opt_str(args, "view_id")
    external_id = _opt_str(args, "external_id")
    if not view_id and not external_id:
        raise _ApiError("invalid_arguments", "[ERROR] view_id or external_id is required")
    if view_id is None:
        view_id = next((v["id"] for v in emu.views.values() if v.get("external_id") == external_id), None)
    current = emu.views.get(view_id or "")
    if current is None:
        raise _ApiError("not_found")
    h = _opt_str(args, "hash")
    if h is not None and h != current["hash"]:
        raise _ApiError("hash_conflict")
    view = _view_body(emu, args, home=current["type"] == "home")
    return {"view": _store_view(emu, view, view_id=current["id"], root_id=current["root_view_id"],
                                previous_id=current.get("previous_view_id"), user=current.get("_user"))}


@_method("views.publish")
def _views_publish(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    user_id = _req_str(args, "user_id")
    if user_id not in emu.users:
        raise _ApiError("user_not_found")
    view = _view_body(emu, args, home=True)
    existing = next((v["id"] for v in emu.views.values() if v["type"] == "home" and v.get("_user") == user_id), None)
    return {"view": _store_view(emu, view, view_id=existing, user=user_id)}


