"""``POST /line/webhook`` (and ``/line/webhook/<account>``): verify, dedupe, enqueue, answer 200.

The account is the one whose channel secret verifies ``X-Line-Signature`` over the raw
body (checked before anything is parsed); the body's ``destination`` must then be that
account's bot user id (configured, or learned from its first verified webhook). The
request never calls LINE or Slack: LINE expects an answer within 2 seconds. Events stay
JSON dicts (the wire format) all the way into the job. Verified webhooks are also queued,
unchanged, for each of the account's forwarding targets: every target has its own dedupe
origin and its own ordered stream, so each target gets every webhook once, in order.

Replays: an event is remembered for dedupe for ``BRIDGE_EVENT_MAX_AGE`` (3 days); a signed
body replayed later would be new again, so an event whose ``timestamp`` is older than that
same age (by :func:`bridge.clock.now`) is refused (answered 200 so LINE does not redeliver it, logged without content,
counted in ``bridge_webhook_events_total{outcome="too_old"}``, never processed). A body
whose every event is too old is not forwarded either: the other tool would be replayed
to just the same.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from bridge import clock, metrics
from bridge.engine import work
from bridge.accounts import Account
from bridge.line.events import source_of
from bridge.model import conv_key
from bridge.runtime import Runtime
from bridge.safe_json import Clean, clean, loads_noting_cleanliness

log = logging.getLogger(__name__)


def event_id_of(event: dict) -> str:
    """LINE's ``webhookEventId``; very old payloads lack it, so fall back to a content hash.

    Any JSON is fine: lone surrogates are hashed as they are, and an event nested too deeply to
    encode is hashed in its cleaned form."""
    event_id = event.get("webhookEventId")
    if isinstance(event_id, str) and 0 < len(event_id) <= 100 and event_id.isprintable():
        return event_id
    try:
        encoded = json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (RecursionError, ValueError):
        encoded = json.dumps(clean(event), sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest()[:32]


def signature_ok(secret: str, body: bytes, signature: str) -> bool:
    """base64(HMAC-SHA256(channel secret, raw body)), compared in constant time."""
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.encode("ascii", errors="replace"))


def too_old(event: dict, now_ms: float, max_age: float) -> bool:
    """Is ``event`` (LINE's ``timestamp``, ms) older than ``max_age`` seconds? Events without one are not."""
    stamp = event.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        return False
    try:
        return now_ms - stamp > max_age * 1000
    except OverflowError:  # an integer beyond any float: far in the past or far in the future
        return stamp < 0


def forward_entries(account: Account, body: bytes, signature: str, headers: dict[str, str]) -> list[tuple]:
    """One inbox entry per forwarding target: the dedupe origin names the target, so one target
    having the body never hides it from the next, and each target keeps its own ordered stream."""
    body_id = hashlib.sha256(body + signature.encode()).hexdigest()[:40]
    entries = []
    for url in account.forward:
        item = work.forward_payload(account.key, url, body, headers, clock.now())
        entries.append((f"fwd-{account.key}-{item['target']}", body_id, work.forward_stream(account.key, item["target"]),
                        work.FORWARD, item))
    return entries


def create_blueprint(rt: Runtime) -> Blueprint:
    bp = Blueprint("line", __name__)

    def verified_account(body: bytes, signature: str, path_account: str | None) -> Account | None:
        candidates = [rt.accounts.get(path_account)] if path_account else list(rt.accounts)
        for account in candidates:
            if account is not None and signature_ok(account.secret, body, signature):
                return account
        return None

    # Learned bot user ids this process has seen in Redis. A learned id never changes (the store
    # keeps the first one: HSETNX), so a matching destination needs no Redis round trip; any other
    # destination is still checked against Redis, so what is refused stays exactly the same.
    learned: dict[str, str] = {}

    def destination_ok(account: Account, destination: Any) -> bool:
        if not isinstance(destination, str) or not destination:
            return True  # very old payloads carry no destination
        if len(destination) > 64 or not destination.isascii() or not destination.isalnum():
            return False  # not a LINE user id: never learned or stored
        if account.bot_user_id:
            return destination == account.bot_user_id
        if learned.get(account.key) == destination:
            return True
        known = rt.store.bot_account_id(account.key)
        if not known:
            # Learn the bot user id from the first verified webhook (also learned via GET /v2/bot/info).
            rt.store.remember_bot(destination, account.key)
            return True
        if destination != known:
            return False
        learned[account.key] = known
        return True

    @bp.post("/line/webhook")
    @bp.post("/line/webhook/<account_key>")
    def line_webhook(account_key: str | None = None) -> Response | tuple[Response, int]:
        started = time.perf_counter()
        counts: dict[str, int] = {}  # filled by _line_webhook: no need to parse our own answer again
        response = _line_webhook(account_key, counts)
        status = response[1] if isinstance(response, tuple) else 200
        metrics.observe_webhook("line", time.perf_counter() - started, accepted=counts.get("accepted", 0),
                                duplicates=counts.get("duplicates", 0), refused=int(status >= 400),
                                too_old=counts.get("too_old", 0))
        return response

    def _line_webhook(account_key: str | None, counts: dict[str, int]) -> Response | tuple[Response, int]:
        body = request.get_data(cache=False)
        signature = request.headers.get("X-Line-Signature", "")
        if account_key is not None and rt.accounts.get(account_key) is None:
            return jsonify(error="unknown account"), 404
        # Verify before anything else: nothing from an unsigned request is parsed or queued.
        account = verified_account(body, signature, account_key) if signature else None
        if account is None:
            log.warning("LINE webhook refused: %s signature", "missing" if not signature else "bad")
            return jsonify(error="invalid signature"), 400
        try:
            payload, needs_no_cleaning = loads_noting_cleanliness(body)
            events = payload.get("events") if isinstance(payload, dict) else None
            if not isinstance(events, list):
                raise ValueError("events is not a list")
        except (ValueError, RecursionError) as exc:
            return jsonify(error=f"malformed webhook body: {str(exc)[:200]}"), 400
        if not destination_ok(account, payload.get("destination")):
            log.warning("LINE webhook refused: destination is not account %s's bot", account.key)
            return jsonify(error="unknown destination"), 400
        entries = []
        # The inbox cleans what it stores (bridge.safe_json); a body that needs none is marked so, sparing the walk.
        payload_of = Clean if needs_no_cleaning else dict
        now_ms, old = clock.now() * 1000, 0  # production: time.time(); tests can move it (bridge.clock)
        for event in events:  # an empty list is LINE's "Verify" call: just answer 200
            if not isinstance(event, dict):
                log.warning("LINE webhook: an event that is not an object was ignored")
                continue
            if too_old(event, now_ms, rt.settings.event_max_age):
                old += 1  # a replay past the dedupe window: processing it again could undo newer state
                continue
            _, chat_id, _ = source_of(event)
            stream = work.line_stream(conv_key(account.key, chat_id or "no-source"))
            entries.append((f"line-{account.key}", event_id_of(event), stream, work.LINE_EVENT,
                            payload_of(account=account.key, event=event)))
        if old:
            log.warning("LINE webhook of account %s: %d event(s) older than %d s refused (replayed?)",
                        account.key, old, rt.settings.event_max_age)
        # Forwarded unless every event of the body was refused as too old (an empty body is LINE's Verify).
        forwarding = account.forward and (entries or not old)
        forwards = forward_entries(account, body, signature, dict(request.headers)) if forwarding else []
        # One pipelined round trip for all events and targets: a body of 500 events is answered in well under LINE's 2 s.
        results = rt.inbox.accept_many(entries + forwards) if entries or forwards else []
        results, forwarded = results[:len(entries)], results[len(entries):]
        accepted = sum(results)
        for (origin, event_id, *_), ok in zip(entries, results):
            log.debug("LINE event %s", "accepted" if ok else "duplicate", extra={"trace": f"{origin}:{event_id}"})
        for (origin, event_id, *_), ok in zip(forwards, forwarded):
            log.debug("forward %s", "queued" if ok else "duplicate", extra={"trace": f"{origin}:{event_id}"})
        duplicates = len(results) - accepted
        if duplicates:
            log.info("LINE webhook: %d duplicate event(s) ignored (redelivery)", duplicates)
        counts.update(accepted=accepted, duplicates=duplicates, **({"too_old": old} if old else {}))
        return Response(json.dumps(counts), mimetype="application/json")  # (jsonify: the app's JSON provider, slower)

    return bp
