"""The Flask app: ``POST /line/webhook``, ``POST /slack/events``, ``GET /healthz``, ``GET /metrics``.

Run with ``gunicorn 'handlers.app:create_app()'`` (see Procfile).

``/healthz`` is public, so it says only whether Redis answers (the error, which names
Redis' host and port, goes to the log) and, while the start-up work runs (:mod:`bridge.boot`),
what it waits for. ``/metrics`` tells the volume of conversations and
the accounts served: it needs ``Authorization: Bearer $BRIDGE_METRICS_TOKEN``; without that
setting it answers only requests made directly on the loopback interface (a scraper on the
same host), never one relayed by a proxy (which adds ``X-Forwarded-For`` / ``Forwarded``).
"""
from __future__ import annotations

import hmac
import logging
import sys
import time

import redis

from flask import Flask, Response, jsonify, request
from slack_bolt.adapter.flask.handler import to_flask_response
from slack_bolt.request import BoltRequest

from bridge import metrics
from bridge.boot import Boot
from bridge.runtime import Runtime, configure_logging
from bridge.settings import Settings, SettingsError
from handlers.history import create_history_blueprint
from handlers.line_webhook import create_blueprint
from handlers.media import create_media_blueprint
from handlers.slack import answer_error, create_bolt_app
from handlers.slack.verify import refusal

log = logging.getLogger(__name__)


LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")
BOOT_GRACE_S = 1.0   # s create_app waits for the start-up work before serving
READY_WAIT_S = 1.5   # s a request that arrives during the start-up work waits for it (LINE wants an answer in 2 s) before a 503
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-Ip", "Forwarded")


def metrics_allowed(token: str) -> bool:
    """May this request read ``/metrics``? With a token: the right bearer token (constant-time
    compare). Without: only a direct loopback request (no proxy in between)."""
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    else:
        ok = request.remote_addr in LOOPBACK and not any(h in request.headers for h in PROXY_HEADERS)
    if not ok:
        log.warning("GET /metrics refused (%s)", "bad or missing bearer token" if token else
                    "not a direct loopback request; set BRIDGE_METRICS_TOKEN to scrape from elsewhere")
    return ok


def create_app(settings: Settings | None = None) -> Flask:
    configure_logging()
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            print(f"bridge not started: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    rt = Runtime(settings)  # BRIDGE_CONFIG was validated with the settings
    # The start-up work (the key layout migration: maybe waiting for another process) runs beside
    # serving: /healthz says what it waits for, other requests get 503 until it is done (bridge.boot).
    boot = Boot(rt.prepare).start()
    boot.ready.wait(BOOT_GRACE_S)  # the usual case (nothing to migrate) is ready before the first request
    app = Flask(__name__)
    # LINE webhooks and Slack payloads are a few KB; refuse anything absurd before reading it.
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.config["BRIDGE_RUNTIME"] = rt
    app.config["BRIDGE_BOOT"] = boot

    @app.before_request
    def not_before_start_up():
        if request.path == "/healthz" or boot.ready.wait(READY_WAIT_S):
            return None  # a normal start (ready within a second or two) is never seen as a 503
        # Nothing is accepted before the layout is known: LINE and Slack deliver it again later.
        resp = jsonify(error="starting, try again", starting=boot.reason)
        resp.status_code, resp.headers["Retry-After"] = 503, "5"
        return resp
    app.register_blueprint(create_blueprint(rt))
    bolt_app = create_bolt_app(rt)
    app.register_blueprint(create_media_blueprint(rt))
    app.register_blueprint(create_history_blueprint(rt, rt.archive))  # /history/<token>: the signed history page

    @app.post("/slack/events")
    def slack_events():
        started = time.perf_counter()
        response = _slack_events()
        status = response[1] if isinstance(response, tuple) else response.status_code
        metrics.observe_webhook("slack", time.perf_counter() - started, accepted=int(status < 400), refused=int(status >= 400))
        return response

    def _slack_events():
        # Events, interactivity (buttons, shortcuts, modals) and slash commands all arrive here.
        body = request.get_data()  # cached: bolt's request is built from the same bytes
        why = refusal(rt.settings.slack_signing_secret, request.headers, body)
        if why:  # refused before anything parses the body (bolt verifies again after parsing)
            log.warning("Slack request refused: %s", why)
            return jsonify(error="invalid signature"), 401
        try:
            bolt_request = BoltRequest(body=body.decode("utf-8"), query=request.query_string.decode("utf-8", "replace"),
                                       headers=request.headers)
            if not isinstance(bolt_request.body, dict):
                raise ValueError("the body is not an object")
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
            log.warning("Slack request refused: malformed body (%s)", type(exc).__name__)
            return jsonify(error="malformed body"), 400
        try:
            return to_flask_response(bolt_app.dispatch(bolt_request))
        except Exception as exc:  # noqa: BLE001 - bolt's own error path can raise on odd (signed) shapes
            resp = answer_error(exc)
            return jsonify(error="not handled"), resp.status

    @app.get("/metrics")
    def metrics_endpoint():
        if not metrics_allowed(rt.settings.metrics_token):
            return jsonify(error="forbidden"), 403
        body, content_type = metrics.exposition(rt)
        return Response(body, mimetype=None, content_type=content_type)

    @app.errorhandler(redis.RedisError)
    def storage_unavailable(exc):
        # Nothing was stored: answer 503 so LINE (and Slack) deliver the event again later.
        logging.getLogger(__name__).error("Redis unavailable, request refused: %s", exc)
        return jsonify(error="storage unavailable, try again"), 503

    @app.get("/healthz")
    def healthz():
        try:
            rt.redis.ping()
        except Exception as exc:  # any Redis failure means we cannot accept work
            # Public endpoint: the error names Redis' host and port, so it goes to the log only.
            log.warning("healthz: Redis unavailable (%s: %s)", type(exc).__name__, exc)
            return jsonify(ok=False, redis="unavailable"), 503
        if not boot.ready.is_set():
            return jsonify(ok=False, redis="ok", starting=boot.reason), 503
        return jsonify(ok=True, redis="ok")

    return app
