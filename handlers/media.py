"""``GET /media/<token>[/<name>]``: signed, expiring links to Slack files, fetched by LINE."""
from __future__ import annotations

from flask import Blueprint, Response

from bridge.media.serve import serve_media
from bridge.runtime import Runtime


def create_media_blueprint(rt: Runtime) -> Blueprint:
    bp = Blueprint("media", __name__)

    @bp.get("/media/<token>")
    @bp.get("/media/<token>/<path:name>")
    def media(token: str, name: str | None = None) -> Response:
        served = serve_media(rt.settings, rt.slack, token)
        headers = {**served.headers, "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return Response(served.body, status=served.status, headers=headers, direct_passthrough=True)

    return bp
