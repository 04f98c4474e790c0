"""The Flask app: ``POST /line/webhook``, ``POST /slack/events``, ``GET /healthz``.

Run with ``gunicorn 'handlers.app:create_app()'`` (see Procfile).
"""
from __future__ import annotations

import logging
import sys

import redis

from flask import Flask, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler

from bridge.runtime import Runtime, configure_logging
from bridge.settings import Settings, SettingsError
from handlers.line_webhook import create_blueprint
from handlers.slack import create_bolt_app


def create_app(settings: Settings | None = None) -> Flask:
    configure_logging()
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            print(f"bridge not started: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    rt = Runtime(settings)
    try:
        rt.marks  # noqa: B018 - validate BRIDGE_CONFIG now: a broken file stops start-up, naming file:line
        rt.automation  # noqa: B018 - [hours], [sla], [reminders], [[auto_replies]] too
    except ValueError as exc:
        print(f"bridge not started: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        rt.prepare()
    except redis.RedisError as exc:  # start anyway: /healthz reports it and the worker rebuilds later
        logging.getLogger(__name__).warning("backlog indexes not checked, Redis unavailable: %s", exc)
    app = Flask(__name__)
    # LINE webhooks and Slack payloads are a few KB; refuse anything absurd before reading it.
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.config["BRIDGE_RUNTIME"] = rt
    app.register_blueprint(create_blueprint(rt))
    slack_handler = SlackRequestHandler(create_bolt_app(rt))

    @app.post("/slack/events")
    def slack_events():
        # Events, interactivity (buttons, shortcuts, modals) and slash commands all arrive here.
        return slack_handler.handle(request)

    @app.get("/healthz")
    def healthz():
        try:
            rt.redis.ping()
        except Exception as exc:  # any Redis failure means we cannot accept work
            return jsonify(ok=False, redis=f"{type(exc).__name__}: {exc}"), 503
        return jsonify(ok=True, redis="ok")

    return app
