"""``GET /media/<token>[/<name>]``: signed, expiring links to Slack files, fetched by LINE.

Each (link, client address) may ask ``RATE_LIMIT`` times per ``RATE_WINDOW`` seconds (429 with
``Retry-After`` beyond): LINE's servers fetch an image a few times, a client hammering one
link is refused before Slack is asked. Answers are cacheable (``ETag``, ``Cache-Control``:
:func:`bridge.media.serve.serve_media`). The token never reaches a log line of the bridge;
gunicorn's access log redacts it (:mod:`bridge.gunicorn_log`).
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request

from bridge.media.cache import VariantCache
from bridge.media.serve import serve_media
from bridge.runtime import Runtime
from bridge.store.media import count_media_hit

RATE_LIMIT = 60
RATE_WINDOW = 60


def create_media_blueprint(rt: Runtime, cache: VariantCache | None = None) -> Blueprint:
    bp = Blueprint("media", __name__)
    variants = cache or rt.media_cache  # shared with this host's workers (staff files' originals)

    @bp.get("/media/<token>")
    @bp.get("/media/<token>/<path:name>")
    def media(token: str, name: str | None = None) -> Response:
        link = hashlib.sha256(token.encode()).hexdigest()[:32]
        count, left = count_media_hit(rt.store, link, request.remote_addr or "-", RATE_WINDOW)
        if count > RATE_LIMIT:
            return Response(b"too many requests", status=429, headers={
                "Retry-After": str(left), "Cache-Control": "no-store", "Content-Type": "text/plain",
                "X-Content-Type-Options": "nosniff"})
        served = serve_media(rt.settings, rt.slack, token, cache=variants,
                             if_none_match=request.headers.get("If-None-Match", ""))
        headers = {"Cache-Control": "no-store", **served.headers, "X-Content-Type-Options": "nosniff"}
        return Response(served.body, status=served.status, headers=headers, direct_passthrough=True)

    return bp
