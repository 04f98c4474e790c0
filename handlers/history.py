"""``GET /history/<token>`` (a conversation's history page) and ``GET /history/<token>/media/<sha256>``.

The token (:mod:`bridge.history.links`) names the conversation and the Slack user the link was
made for. Every request checks the signature, its age (``BRIDGE_HISTORY_LINK_TTL``) and that the
user is still a member of the conversation's triage channel (member lists cached 5 minutes,
:mod:`bridge.access`). A refusal is a plain page saying why (404 unknown, 410 expired, 403 not a
member), never an error page. Media come from the media archive, and only files the
conversation's own entries refer to. The token never reaches a log line of the bridge; gunicorn's
access log redacts ``/history/…`` (:mod:`bridge.gunicorn_conf`).
"""
from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request

from bridge.access import is_channel_member
from bridge.history.links import HistoryLinkInvalid, read_token
from bridge.history.render import HEADERS, notice_html, page_html
from bridge.history.view import build, is_sha256, parse_entries
from bridge.i18n import t
from bridge.model import Conversation
from bridge.archive.media import MediaArchive
from bridge.runtime import Runtime
from bridge.store.history import history_since, media_reference, transcript_members

log = logging.getLogger(__name__)

#: Shown inline in the page (anything else is downloaded as an attachment, never rendered by the browser).
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/quicktime",
                "audio/mp4", "audio/m4a", "audio/x-m4a", "audio/aac", "audio/mpeg")
CHUNK = 256 * 1024


def create_history_blueprint(rt: Runtime, archive: MediaArchive) -> Blueprint:
    bp = Blueprint("history", __name__)

    def html(body: str, status: int = 200) -> Response:
        return Response(body, status=status, headers={**HEADERS, "Content-Type": "text/html; charset=utf-8"})

    def admitted(token: str) -> tuple[Conversation | None, Response | None]:
        """The conversation the link opens, or the page refusing it."""
        lang = rt.settings.language
        try:
            conv_id, user = read_token(rt.settings, token)
        except HistoryLinkInvalid as exc:
            return None, html(notice_html("expired" if exc.expired else "invalid", lang), 410 if exc.expired else 404)
        conv = rt.store.get_conversation(conv_id)
        if conv is None or not conv.channel:
            return None, html(notice_html("invalid", lang), 404)
        try:
            member = is_channel_member(rt.store, rt.slack, user, conv.channel)
        except Exception as exc:  # noqa: BLE001 - Slack unreachable or refusing: say so, never a traceback
            log.warning("history page: membership of %s in %s not checked (%s)", user, conv.channel, type(exc).__name__)
            return None, html(notice_html("unavailable", lang), 503)
        if not member:
            log.info("history page of #%s refused: %s is not a member of %s", conv.number, user, conv.channel)
            return None, html(notice_html("member", lang), 403)
        return conv, None

    @bp.get("/history/<token>")
    def history_page(token: str) -> Response:
        conv, refused = admitted(token)
        if refused is not None:
            return refused
        lang = rt.settings.language
        tz_name = rt.settings.config.automation.of(conv.account).hours.timezone
        query = (request.args.get("q") or "")[:100]
        entries = parse_entries(transcript_members(rt.store, conv.conv_id))
        view = build(entries, tz=ZoneInfo(tz_name), lang=lang, query=query, media_base=f"/history/{token}/media")
        name = conv.name or t("unknown_name", lang)
        summary = t("history.summary", lang, count=view.count, first=view.first, last=view.last, tz=tz_name) \
            if view.count else t("history.summary.empty", lang)
        since = history_since(rt.store, conv.conv_id)
        if since:
            try:
                summary = t("history.since", lang, since=_day(float(since), tz_name)) + " " + summary
            except ValueError:
                pass
        body = page_html(view, title=t("history.title", lang, number=conv.number, name=name), summary=summary,
                         query=query, self_url=f"/history/{token}", lang=lang)
        return html(body)

    @bp.get("/history/<token>/media/<sha256>")
    def history_media(token: str, sha256: str) -> Response:
        conv, refused = admitted(token)
        if refused is not None:
            return refused
        ref = media_reference(rt.store, conv.conv_id, sha256) if is_sha256(sha256) else None
        if ref is None:
            return html(notice_html("invalid", rt.settings.language), 404)
        try:
            handle = archive.open(sha256)
        except FileNotFoundError:  # spooled, not yet in the archive (or deleted by retention)
            return html(notice_html("invalid", rt.settings.language), 404)
        mime = str(ref.get("type") or "application/octet-stream").lower()
        headers = {**HEADERS, "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, max-age=300"}
        if mime in INLINE_TYPES and not request.args.get("download"):
            headers["Content-Type"] = mime
        else:
            name = str(ref.get("name") or sha256[:12])
            headers["Content-Type"] = "application/octet-stream"
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"

        def chunks():
            with handle:
                while True:
                    block = handle.read(CHUNK)
                    if not block:
                        return
                    yield block

        return Response(chunks(), headers=headers, direct_passthrough=True)

    return bp


def _day(at: float, tz_name: str) -> str:
    return dt.datetime.fromtimestamp(at, ZoneInfo(tz_name)).strftime("%Y-%m-%d")
