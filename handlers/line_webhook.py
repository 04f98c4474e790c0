"""``POST /line/webhook``: verify the signature, dedupe on webhookEventId, enqueue, answer 200.

The request never calls LINE or Slack: LINE expects an answer within 2 seconds
(https://developers.line.biz/en/docs/messaging-api/receiving-messages/#webhook-response).
Events stay JSON dicts (the wire format) all the way into the job; the SDK's model
classes are not used here, so event types the SDK does not know still pass through.
"""
from __future__ import annotations

import hashlib
import json
import logging

from flask import Blueprint, Response, jsonify, request
from linebot.v3 import SignatureValidator

from bridge.domain import source_of
from bridge.inbox import line_stream
from bridge.runtime import Runtime

log = logging.getLogger(__name__)


def event_id_of(event: dict) -> str:
    """LINE's ``webhookEventId``; very old payloads lack it, so fall back to a content hash."""
    return event.get("webhookEventId") or hashlib.sha256(
        json.dumps(event, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def create_blueprint(rt: Runtime) -> Blueprint:
    bp = Blueprint("line", __name__)
    validator = SignatureValidator(rt.settings.line_channel_secret)

    @bp.post("/line/webhook")
    def line_webhook() -> Response | tuple[Response, int]:
        body = request.get_data(cache=False)
        signature = request.headers.get("X-Line-Signature", "")
        # Verify before anything else: nothing from an unsigned request is parsed or queued.
        if not signature or not validator.validate(body.decode("utf-8", errors="replace"), signature):
            log.warning("LINE webhook refused: %s signature", "missing" if not signature else "bad")
            return jsonify(error="invalid signature"), 400
        try:
            payload = json.loads(body)
            events = payload.get("events")
            if not isinstance(events, list):
                raise ValueError("events is not a list")
        except (ValueError, AttributeError) as exc:
            return jsonify(error=f"malformed webhook body: {exc}"), 400
        accepted = duplicates = 0
        for event in events:  # an empty list is LINE's "Verify" call: just answer 200
            if not isinstance(event, dict):
                continue
            _, conv_id, _ = source_of(event)
            stream = line_stream(conv_id or "no-source")
            if rt.inbox.accept("line", event_id_of(event), stream, "line_event", event):
                accepted += 1
            else:
                duplicates += 1
        if duplicates:
            log.info("LINE webhook: %d duplicate event(s) ignored (redelivery)", duplicates)
        return jsonify(accepted=accepted, duplicates=duplicates)

    return bp
