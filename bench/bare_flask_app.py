"""Baseline for ``bench/core_bench.py``: the least a LINE webhook endpoint can do.

One route, ``POST /line/webhook``: verify ``X-Line-Signature`` with the SDK's
``linebot.v3.SignatureValidator`` (as ``handlers/line_webhook.py`` does) and answer 200.
No parsing, no Redis, no queue. Served by the benchmark with the Procfile's gunicorn
settings, only the app spec differs:

    gunicorn ... 'bench.bare_flask_app:create_app()'

Needs ``LINE_CHANNEL_SECRET`` in the environment.
"""
from __future__ import annotations

import os

from flask import Flask, Response, jsonify, request
from linebot.v3 import SignatureValidator


def create_app() -> Flask:
    validator = SignatureValidator(os.environ["LINE_CHANNEL_SECRET"])
    app = Flask(__name__)

    @app.post("/line/webhook")
    def line_webhook() -> Response | tuple[Response, int]:
        body = request.get_data(cache=False)
        signature = request.headers.get("X-Line-Signature", "")
        if not signature or not validator.validate(body.decode("utf-8", errors="replace"), signature):
            return jsonify(error="invalid signature"), 400
        return jsonify({})

    return app
