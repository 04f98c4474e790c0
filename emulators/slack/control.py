"""Non-API endpoints: ``response_url``\\s and the ``/_emulator/...`` control endpoints."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, request

from emulators.slack.util import _truthy, _ts_key


class _ControlMixin:
    """Mixed into :class:`~emulators.slack.core.SlackEmulator`."""

    # ---------------------------------------------------------------- non-API endpoints
    def _http_response_url(self, rid: str) -> Response:
        payload = request.get_json(force=True, silent=True)
        if not isinstance(payload, dict):
            return Response("invalid_payload", status=400)
        with self._lock:
            self.responses.append(payload)
            ctx = self._response_ctx.get(rid, {})
            self._apply_response(ctx, payload)
        return Response("ok", status=200, content_type="text/html")

    def _apply_response(self, ctx: dict[str, Any], payload: dict[str, Any]) -> None:
        """Act on a response_url payload (https://docs.slack.dev/interactivity/handling-user-interaction)."""
        channel = ctx.get("channel")
        if not channel or channel not in self.channels:
            return
        message_ts = ctx.get("message_ts")
        if _truthy(payload.get("delete_original")) and message_ts:
            msg = self._msgs.get(channel, {}).get(_ts_key(message_ts))
            if msg is not None:
                self._remove_message(channel, msg)
            return
        if _truthy(payload.get("replace_original")) and message_ts:
            msg = self._msgs.get(channel, {}).get(_ts_key(message_ts))
            if msg is not None:
                for key in ("text", "blocks", "attachments"):
                    if key in payload:
                        msg[key] = payload[key]
            return
        if payload.get("response_type") == "in_channel":
            msg = self._bot_message(payload, payload.get("text", ""))
            for key in ("blocks", "attachments"):
                if key in payload:
                    msg[key] = payload[key]
            self._store_message(channel, msg, thread_ts=payload.get("thread_ts"))
        else:
            self._ephemerals.append({"channel": channel, "user": ctx.get("user"), "text": payload.get("text", ""),
                                     "blocks": payload.get("blocks"), "thread_ts": payload.get("thread_ts"),
                                     "source": "response_url"})

    def _http_calls(self) -> Response:
        method = request.args.get("method")
        with self._lock:
            calls = self._calls_by_method.get(method, []) if method else self.calls
            data = [asdict(c) for c in calls]
        return self._json(data)

    def _http_messages(self) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True)
            try:
                msg = self.add_user_message(
                    body["channel"], body["user"], body.get("text", ""), thread_ts=body.get("thread_ts"),
                    subtype=body.get("subtype"), files=body.get("files"), blocks=body.get("blocks"),
                    extra=body.get("extra"))
            except KeyError as e:
                return self._json({"ok": False, "error": str(e)}, 400)
            return self._json({"ok": True, "message": msg})
        channel = request.args.get("channel", "")
        return self._json(self.messages(channel, request.args.get("thread_ts") or None))

    def _http_message(self) -> Response:
        msg = self.message(request.args.get("channel", ""), request.args.get("ts", ""))
        return self._json({"ok": msg is not None, "message": msg}, 200 if msg is not None else 404)

    def _http_reactions(self) -> Response:
        body = request.get_json(force=True)
        fn = self.remove_reaction if body.get("removed") else self.add_reaction
        changed = fn(body["channel"], body["ts"], body["name"], body["user"])
        with self._lock:
            msg = self._msgs.get(body["channel"], {}).get(_ts_key(body["ts"]))
            item_user = msg.get("user") if msg else None
        return self._json({"ok": True, "changed": changed, "item_user": item_user})

    def _http_reset(self) -> Response:
        self.reset()
        return self._json({"ok": True})

    def _http_faults(self) -> Response:
        body = request.get_json(force=True)
        try:
            self.fail_next(**body)
        except (TypeError, ValueError) as e:
            return self._json({"ok": False, "error": str(e)}, 400)
        return self._json({"ok": True})

    def _http_rate_limits(self) -> Response:
        """POST ``{"post_per_channel": [rate, burst], "update": [...], "reactions": [...], "enabled": true}``
        configures limits; GET answers ``{"limits", "stats", "capacity"}`` where ``capacity`` is
        :meth:`allowed_capacity` per limited method (query ``since``/``until``/``channel`` optional)."""
        if request.method == "POST":
            body = request.get_json(force=True)
            try:
                self.set_rate_limits(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in body.items()})
            except (TypeError, ValueError) as e:
                return self._json({"ok": False, "error": str(e)}, 400)
            return self._json({"ok": True, "limits": self.rate_limits()})
        since, until = request.args.get("since"), request.args.get("until")
        window = {"channel": request.args.get("channel") or None,
                  "since": float(since) if since else None, "until": float(until) if until else None}
        capacity = {m: self.allowed_capacity(m, **window) for m in self.rate_stats()}
        return self._json({"ok": True, "limits": self.rate_limits(), "stats": self.rate_stats(),
                           "capacity": capacity})

    def _http_users(self) -> Response:
        body = request.get_json(force=True)
        for user in body if isinstance(body, list) else [body]:
            self.add_user(**user)
        return self._json({"ok": True})

    def _http_channels(self) -> Response:
        body = request.get_json(force=True)
        for channel in body if isinstance(body, list) else [body]:
            self.add_channel(**channel)
        return self._json({"ok": True})

    def _http_responses(self) -> Response:
        with self._lock:
            return self._json(list(self.responses))

    def _http_ephemerals(self) -> Response:
        return self._json(self.ephemerals(request.args.get("channel"), request.args.get("user")))


