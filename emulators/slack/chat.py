"""chat.* methods (postMessage, update, delete, postEphemeral, getPermalink) and message metadata.

Files in messages (:mod:`emulators.slack.files`): ``slack_file`` images are checked against the
stored files (``invalid_blocks``: ``invalid slack file``), and a ``chat.postMessage`` whose text
holds the permalink of a file the app may see shares that file: the message carries it in
``files`` and the file lists the share."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.slack.blockkit import _validate_blocks
from emulators.slack.util import (
    _ApiError, _Ctx, _key_ts, _method, _parse_ts_arg, _req_str, _strip_private, _truthy,
)

if TYPE_CHECKING:
    from emulators.slack.core import SlackEmulator

# --------------------------------------------------------------------------------------------
# Web API methods
# --------------------------------------------------------------------------------------------
def _message_content(args: dict[str, Any], *, require: bool = True) -> tuple[str, dict[str, Any]]:
    """Validate text/blocks/attachments/metadata/mrkdwn; return (text, extra message fields)."""
    fields: dict[str, Any] = {}
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    if blocks is not None and blocks != "":
        errs = _validate_blocks(blocks)
        if errs:
            # https://docs.slack.dev/reference/methods/chat.postMessage#errors : invalid_blocks
            raise _ApiError("invalid_blocks", *[f"[ERROR] {e}" for e in errs], errors=errs)
        fields["blocks"] = blocks
    if attachments is not None and attachments != "":
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise _ApiError("invalid_attachments", "[ERROR] attachments must be an array of objects")
        if len(attachments) > 100:
            raise _ApiError("too_many_attachments")
        fields["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments)]
    if require and not text and "blocks" not in fields and "attachments" not in fields:
        raise _ApiError("no_text")
    if text and len(text) > 40000:
        raise _ApiError("msg_too_long")
    metadata = args.get("metadata")
    if metadata is not None and metadata != "":
        # https://docs.slack.dev/messaging/message-metadata : {event_type, event_payload}
        if not isinstance(metadata, dict):
            raise _ApiError("invalid_metadata_format", "[ERROR] metadata must be an object")
        if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"] \
                or not isinstance(metadata.get("event_payload"), dict):
            raise _ApiError("invalid_metadata_schema",
                            "[ERROR] metadata requires a string event_type and an object event_payload")
        fields["metadata"] = {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}
    if "mrkdwn" in args and not _truthy(args["mrkdwn"]):
        fields["mrkdwn"] = False
    return text or "", fields


def _check_slack_files(emu: SlackEmulator, fields: dict[str, Any]) -> None:
    errs = emu._slack_file_errors(fields.get("blocks"))
    if errs:
        raise _ApiError("invalid_blocks", *[f"[ERROR] {e}" for e in errs], errors=errs)


def _customization(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """username/icon_url/icon_emoji need chat:write.customize (docs: chat.postMessage#authorship)."""
    custom = {k: args[k] for k in ("username", "icon_url", "icon_emoji") if args.get(k)}
    if custom and "chat:write.customize" not in emu.scopes:
        raise _ApiError("missing_scope", needed="chat:write.customize", provided=",".join(sorted(emu.scopes)))
    fields: dict[str, Any] = {}
    if "username" in custom:
        fields["username"] = str(custom["username"])
    icons: dict[str, str] = {}
    if "icon_emoji" in custom:
        icons["emoji"] = str(custom["icon_emoji"])  # icon_emoji overrides icon_url
    elif "icon_url" in custom:
        icons["image_48"] = icons["image_72"] = str(custom["icon_url"])
    if icons:
        fields["icons"] = icons
    # Convenience copies for test inspection (SlackEmulator.messages()); API responses show only
    # Slack's real shape ("icons"), see _INSPECTION_ONLY.
    for key in ("icon_url", "icon_emoji"):
        if key in custom:
            fields[key] = str(custom[key])
    if custom:
        # Messages with a customized identity are stored as bot_message with username/icons.
        fields["subtype"] = "bot_message"
    return fields




@_method("chat.postMessage", "chat:write")
def _chat_post_message(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    thread_ts = _parse_ts_arg(args, "thread_ts")
    text, fields = _message_content(args)
    _check_slack_files(emu, fields)
    custom = _customization(emu, args)
    if _truthy(args.get("as_user")):
        raise _ApiError("as_user_not_supported")
    linked = emu._files_linked(text)
    if linked:
        fields["files"] = [emu.file_info(f) for f in linked]
    msg = emu._bot_message(args, text)
    if "subtype" in custom:
        msg = {"type": "message", "subtype": custom.pop("subtype"), **{k: v for k, v in msg.items() if k != "type"}}
    msg.update(custom)
    msg.update(fields)
    broadcast = bool(thread_ts) and _truthy(args.get("reply_broadcast"))
    stored, notes = emu._store_message(channel, msg, thread_ts=thread_ts, broadcast=broadcast)
    ctx.notes.extend(notes)
    if linked:
        emu._record_share(channel, stored["ts"], thread_ts, emu.bot_user_id, linked)
    # unfurl_links/unfurl_media only affect rendering; they stay visible in the RecordedCall args.
    return {"channel": channel, "ts": stored["ts"], "message": _strip_private(stored)}




@_method("chat.update", "chat:write")
def _chat_update(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "ts", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    if msg.get("bot_id") != emu.bot_id:
        # Bot tokens can only edit the app's own messages.
        raise _ApiError("cant_update_message")
    text, fields = _message_content(args, require=False)
    _check_slack_files(emu, fields)
    if not text and not fields.get("blocks") and not fields.get("attachments") and "text" not in args:
        raise _ApiError("no_text")
    msg["text"] = text if "text" in args else msg.get("text", "")
    for key in ("blocks", "attachments", "metadata"):
        if key in fields:
            msg[key] = fields[key]
    msg["edited"] = {"user": emu.bot_user_id, "ts": _key_ts(emu._next_ts())}
    public = _strip_private(msg)
    return {"channel": channel, "ts": ts, "text": msg["text"], "message": public}


@_method("chat.delete", "chat:write")
def _chat_delete(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "ts", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    if msg.get("bot_id") != emu.bot_id:
        raise _ApiError("cant_delete_message")
    emu._remove_message(channel, msg)
    return {"channel": channel, "ts": ts}


@_method("chat.postEphemeral", "chat:write")
def _chat_post_ephemeral(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    user = _req_str(args, "user")
    thread_ts = _parse_ts_arg(args, "thread_ts")
    text, fields = _message_content(args)
    _customization(emu, args)
    if user not in emu.users:
        raise _ApiError("user_not_found")
    if user not in emu._members.get(channel, ()):
        raise _ApiError("user_not_in_channel")
    message_ts = _key_ts(emu._next_ts())
    emu._ephemerals.append({"channel": channel, "user": user, "text": text, "blocks": fields.get("blocks"),
                            "thread_ts": thread_ts, "message_ts": message_ts, "source": "chat.postEphemeral"})
    return {"message_ts": message_ts}


@_method("chat.getPermalink")
def _chat_get_permalink(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "message_ts", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    link = f"https://{emu.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    thread_ts = msg.get("thread_ts")
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


