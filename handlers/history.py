"""``GET /history/<token>`` (a conversation's history page) and ``GET /history/<token>/media/<sha256>``.

The token (:mod:`bridge.history.links`) names the conversation and the Slack user the link was
made for. Every request checks the signature, its age (``BRIDGE_HISTORY_LINK_TTL``) and that the
user is still a member of the conversation's triage channel (member lists cached 5 minutes,
:mod:`bridge.access`). A refusal is a plain page saying why (404 unknown, 410 expired, 403 not a
member, 400 / 404 a damaged or vanished page cursor), never an error page.

A long conversation is paged, newest page first (``BRIDGE_HISTORY_PAGE_SIZE`` entries, links by
cursor: :mod:`bridge.history.paging`): a page reads only its own entries from Redis, never the
whole conversation. A search (``?q=``) does read the whole conversation for its matches, and opens
at the page of the newest one. Media come from the media archive, and only files the
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
from bridge.history import paging
from bridge.history.view import build, is_sha256, matching, parse_entries
from bridge.i18n import t
from bridge.model import Conversation
from bridge.archive.media import MediaArchive
from bridge.runtime import Runtime
from bridge.store.history import history_since, media_reference, transcript_members, transcript_window

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
        self_url = f"/history/{token}"
        try:
            before, after = paging.read(request.args)
        except paging.CursorInvalid:
            return html(notice_html("page", lang, link=self_url), 400)
        tz_name = rt.settings.config.automation.of(conv.account).hours.timezone
        query = (request.args.get("q") or "").strip()[:100]
        size = rt.settings.history_page_size
        offset, hits_total = 0, None
        if query:  # a search reads the whole conversation (its matches); the page shown is still one page
            members = transcript_members(rt.store, conv.conv_id)
            matches = matching(members, query, lang)
            hits_total = len(matches)
            if matches and before is None and after is None:  # opened at the page of the newest match
                offset = (len(members) - 1 - matches[-1]) // size * size
        window = transcript_window(rt.store, conv.conv_id, size, before=before, after=after, offset=offset)
        if not window.members and (before is not None or after is not None):
            return html(notice_html("page", lang, link=paging.page_url(self_url, query=query)), 404)
        view = build(parse_entries(window.members), tz=ZoneInfo(tz_name), lang=lang, query=query,
                     media_base=f"{self_url}/media", position=window.position)
        name = conv.name or t("unknown_name", lang)
        summary = t("history.summary", lang)
        since = history_since(rt.store, conv.conv_id)
        if since:
            try:
                summary = t("history.since", lang, since=_day(float(since), tz_name)) + " " + summary
            except ValueError:
                pass
        range_line = t("history.range", lang, first=view.first[:10], last=view.last[:10], count=f"{view.count:,}",
                       total=f"{window.total:,}", tz=tz_name) if view.count else ""
        older = paging.page_url(self_url, before=window.older, query=query) if window.older else ""
        newer = paging.page_url(self_url, after=window.newer, query=query) if window.newer else ""
        body = page_html(view, title=t("history.title", lang, number=conv.number, name=name), summary=summary,
                         query=query, self_url=self_url, lang=lang, range_line=range_line, older=older, newer=newer,
                         hits_total=hits_total)
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
