"""LINE webhook events in the wire format (JSON dicts): who sent them and what they show.

Pure translation, no SDK and no I/O: the webhook handler uses :func:`source_of` to find
the conversation stream of an event, the relay uses :func:`inbound_from_line`.
Every field is read defensively: a platform (or an attacker with a valid signature)
may send any JSON, and a malformed event must never crash a worker.
"""
from __future__ import annotations

from typing import Any

from bridge.i18n import t
from bridge.model import InboundMessage, conv_key

MESSAGE_KINDS = ("text", "image", "video", "audio", "file", "location", "sticker")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def source_of(event: dict[str, Any]) -> tuple[str, str, str]:
    """(source_type, LINE chat id, sender user id) of a LINE webhook event."""
    source = _dict(event.get("source"))
    stype = _str(source.get("type")) or "user"
    if stype == "group":
        chat = source.get("groupId")
    elif stype == "room":
        chat = source.get("roomId")
    else:
        stype, chat = "user", source.get("userId")
    return stype, _line_id(chat), _line_id(source.get("userId"))


def _line_id(value: Any) -> str:
    """A LINE user/group/room id ("U" + 32 hex digits…), or "" for anything else: ids name
    Redis keys and streams, so a forged one (huge, or with odd characters) is not used."""
    return value if isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isalnum() else ""


def _timestamp_ms(event: dict[str, Any]) -> int:
    value = event.get("timestamp")
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e14 else 0


def inbound_from_line(account: str, event: dict[str, Any], lang: str) -> InboundMessage | None:
    """Translate a LINE webhook event into an :class:`InboundMessage`; None for events we don't show."""
    stype, chat_id, sender = source_of(event)
    if not chat_id:
        return None
    etype = _str(event.get("type"))
    base = dict(account=account, conv_id=conv_key(account, chat_id), line_id=chat_id, source_type=stype, sender_id=sender,
                webhook_event_id=_str(event.get("webhookEventId")), timestamp_ms=_timestamp_ms(event),
                standby=event.get("mode") == "standby", reply_token=_str(event.get("replyToken")))
    if etype == "message":
        m = _dict(event.get("message"))
        mtype = _str(m.get("type"))
        keywords = [k for k in (m.get("keywords") or []) if isinstance(k, str)] if isinstance(m.get("keywords"), list) else []
        text = {
            "text": lambda: _str(m.get("text")),
            "image": lambda: t("placeholder.image", lang),
            "video": lambda: t("placeholder.video", lang),
            "audio": lambda: t("placeholder.audio", lang),
            "file": lambda: t("placeholder.file", lang, name=_str(m.get("fileName"))),
            "location": lambda: t("placeholder.location", lang, title=_str(m.get("title")), address=_str(m.get("address")),
                                  map_url=f"https://www.google.com/maps?q={m.get('latitude')},{m.get('longitude')}"
                                  ).replace("\n\n", "\n"),
            "sticker": lambda: t("placeholder.sticker", lang, keywords=" ".join(f"「{k}」" for k in keywords[:3])).strip(),
        }.get(mtype, lambda: t("placeholder.unknown", lang, type=mtype[:40]))()
        return InboundMessage(**base, kind=mtype if mtype in MESSAGE_KINDS else "unknown",
                              text=text, message_id=_str(m.get("id")), quote_token=_str(m.get("quoteToken")),
                              mark_as_read_token=_str(m.get("markAsReadToken")), extra={"line_message": m})

    def members(field: str) -> str:
        listed = _dict(event.get(field)).get("members")
        return ", ".join(f"<{_str(_dict(u).get('userId'))}>" for u in (listed if isinstance(listed, list) else []))

    notice_text = {
        "follow": lambda: t("notice.follow", lang),
        "unfollow": lambda: t("notice.unfollow", lang),
        "join": lambda: t("notice.join", lang),
        "leave": lambda: t("notice.leave", lang),
        "memberJoined": lambda: t("notice.member_joined", lang, names=members("joined")),
        "memberLeft": lambda: t("notice.member_left", lang, names=members("left")),
        "postback": lambda: t("notice.postback", lang, data=_str(_dict(event.get("postback")).get("data"))),
        "unsend": lambda: t("notice.unsend", lang),
    }.get(etype)
    if notice_text is None:
        return None  # beacon, accountLink, things, videoPlayComplete, unknown types: logged by the caller
    return InboundMessage(**base, kind=etype, text=notice_text(), is_notice=True, extra={"event": event})


def member_ids(event: dict[str, Any]) -> list[str]:
    """User ids of a memberJoined/memberLeft event."""
    holder = _dict(event.get("joined")) or _dict(event.get("left"))
    listed = holder.get("members")
    return [_str(_dict(u).get("userId")) for u in (listed if isinstance(listed, list) else [])]
