"""The Web API HTTP layer: argument parsing, auth, scope checks, faults, rate limits, recording."""
from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, request

from emulators.slack.util import _JSON_ARGS, _METHODS, RecordedCall, _ApiError, _Ctx, _Fault, _Invalid


class _HttpMixin:
    """Mixed into :class:`~emulators.slack.core.SlackEmulator`."""

    # ---------------------------------------------------------------- HTTP layer
    def fail_next(
        self,
        method: str,
        status: int = 200,
        error: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"`` = any Web API method) fail.

        * ``status=429`` -> HTTP 429 ``{"ok": false, "error": "ratelimited"}`` + ``Retry-After``
          (``retry_after`` seconds, default 1).
        * ``status>=400`` otherwise -> that HTTP status with ``{"ok": false, "error": error or
          "internal_error"}``.
        * ``status=200`` with ``error`` -> ``{"ok": false, "error": error}``.
        * ``delay`` -> sleep that long before answering (client time-outs). With status 200 and no
          error, the call is then answered normally.
        * ``after_effect=True`` -> the call is performed first (e.g. the message *is* posted) and
          only then the failure is answered: "the request reached Slack but the response was lost".
        """
        if status == 200 and error is None and delay <= 0:
            raise ValueError("fail_next needs an error, a non-200 status or a delay")
        with self._lock:
            self._faults.append(_Fault(method, status, error, times, retry_after, delay, after_effect))

    def _build_app(self) -> Flask:
        app = Flask(f"slack-emulator-{id(self)}")
        app.before_request(self._learn_url)
        app.add_url_rule("/api/<path:method>", "api", self._http_api, methods=["GET", "POST"])
        app.add_url_rule("/_emulator/upload/<file_id>", "upload", self._http_upload, methods=["POST", "PUT"])
        app.add_url_rule("/_emulator/files", "add_file", self._http_add_file, methods=["POST"])
        app.add_url_rule("/_emulator/files/<file_id>", "file_info", self._http_file_info, methods=["GET"])
        app.add_url_rule("/_emulator/files/<file_id>/<path:rest>", "file", self._http_file, methods=["GET"])
        app.add_url_rule("/_emulator/response_url/<rid>", "response_url", self._http_response_url,
                         methods=["POST"])
        app.add_url_rule("/_emulator/calls", "calls", self._http_calls, methods=["GET"])
        app.add_url_rule("/_emulator/messages", "messages", self._http_messages, methods=["GET", "POST"])
        app.add_url_rule("/_emulator/message", "message", self._http_message, methods=["GET"])
        app.add_url_rule("/_emulator/reactions", "reactions", self._http_reactions, methods=["POST"])
        app.add_url_rule("/_emulator/reset", "reset", self._http_reset, methods=["POST"])
        app.add_url_rule("/_emulator/faults", "faults", self._http_faults, methods=["POST"])
        app.add_url_rule("/_emulator/users", "users", self._http_users, methods=["POST"])
        app.add_url_rule("/_emulator/channels", "channels", self._http_channels, methods=["POST"])
        app.add_url_rule("/_emulator/responses", "responses", self._http_responses, methods=["GET"])
        app.add_url_rule("/_emulator/ephemerals", "ephemerals", self._http_ephemerals, methods=["GET"])
        app.add_url_rule("/_emulator/rate_limits", "rate_limits", self._http_rate_limits, methods=["GET", "POST"])
        return app

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json; charset=utf-8", headers=headers)

    def _learn_url(self) -> None:
        if self.url is None:
            self.url = request.host_url.rstrip("/")

    def _parse_args(self, notes: list[str], warnings: list[str]) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.args.items())
        ctype = request.headers.get("Content-Type", "")
        mime = ctype.split(";")[0].strip().lower()
        has_charset = "charset=" in ctype.lower()
        if request.method == "POST" and request.content_length:
            if mime == "application/json":
                if not has_charset:
                    warnings.append("missing_charset")
                try:
                    body = json.loads(request.get_data(as_text=True) or "{}")
                except ValueError:
                    raise _ApiError("invalid_json") from None
                if not isinstance(body, dict):
                    raise _ApiError("invalid_json")
                args.update(body)
            elif mime in ("application/x-www-form-urlencoded", "multipart/form-data"):
                if mime == "application/x-www-form-urlencoded" and has_charset:
                    warnings.append("superfluous_charset")
                args.update(request.form.items())
                for key, storage in request.files.items():
                    args[key] = {"filename": storage.filename, "size": len(storage.read())}
            elif not mime:
                raise _ApiError("missing_post_type")
            else:
                raise _ApiError("invalid_post_type")
        for key in _JSON_ARGS:
            value = args.get(key)
            if isinstance(value, str) and value.strip():
                try:
                    args[key] = json.loads(value)
                except ValueError:
                    notes.append(f"{key} is not valid JSON")
                    args[key] = _Invalid(value)
        return args

    def _check_auth(self, args: dict[str, Any]) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        form_token = args.pop("token", None)
        token = token or form_token
        if not token:
            raise _ApiError("not_authed")
        if token != self.bot_token:
            raise _ApiError("invalid_auth")

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.method in (method, "*"):
                    f.times -= 1
                    if f.times <= 0:
                        del self._faults[i]
                    return f
        return None

    def _http_api(self, method: str) -> Response:
        host_url = request.host_url.rstrip("/")
        started = time.time()
        notes: list[str] = []
        warnings: list[str] = []
        headers = dict(request.headers.items())
        args: dict[str, Any] = {}
        try:
            args = self._parse_args(notes, warnings)
        except _ApiError as e:
            return self._finish(method, args, headers, started, self._error_body(e), e.status, notes, {})
        fault = self._take_fault(method)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        if fault is not None and not fault.after_effect and (fault.error or fault.status != 200):
            args.pop("token", None)
            body, status, extra_headers = self._fault_answer(fault)
            notes.append(f"injected fault: status={fault.status} error={body.get('error')}")
            return self._finish(method, args, headers, started, body, status, notes, extra_headers)
        try:
            self._check_auth(args)
            entry = _METHODS.get(method)
            if entry is None:
                raise _ApiError("unknown_method")
            handler, scopes = entry
            if scopes and not (set(scopes) & self.scopes):
                raise _ApiError("missing_scope", needed=scopes[0], provided=",".join(sorted(self.scopes)))
            for key in _JSON_ARGS:
                if isinstance(args.get(key), _Invalid):
                    code = {"blocks": "invalid_blocks_format", "attachments": "invalid_attachments",
                            "metadata": "invalid_metadata_format", "view": "invalid_arguments",
                            "files": "invalid_arguments"}[key]
                    raise _ApiError(code, f"[ERROR] {key} must be valid JSON")
            retry_after = self._rate_limit_check(method, args)
            if retry_after is not None:
                # A refused call has no effect. https://docs.slack.dev/apis/web-api/rate-limits
                notes.append(f"rate limited: Retry-After {retry_after}")
                return self._finish(method, args, headers, started, {"ok": False, "error": "ratelimited"}, 429,
                                    notes, {"Retry-After": str(retry_after)})
            with self._lock:
                body = handler(self, args, _Ctx(host_url=host_url, notes=notes))
            body = {"ok": True, **body}
            status = 200
        except _ApiError as e:
            body, status = self._error_body(e), e.status
            notes.append(e.code + "".join(f"; {m}" for m in e.messages))
        if warnings and body.get("ok"):
            body["warning"] = ",".join(warnings)
            body.setdefault("response_metadata", {}).setdefault("warnings", []).extend(warnings)
        extra_headers = {"X-OAuth-Scopes": ",".join(sorted(self.scopes))}
        if fault is not None and fault.after_effect and (fault.error or fault.status != 200):
            body, status, extra_headers = self._fault_answer(fault)
            notes.append(f"injected fault after performing the call: status={fault.status} error={body.get('error')}")
        return self._finish(method, args, headers, started, body, status, notes, extra_headers)

    @staticmethod
    def _fault_answer(fault: _Fault) -> tuple[dict[str, Any], int, dict[str, str]]:
        if fault.status == 429:
            # https://docs.slack.dev/apis/web-api/rate-limits : HTTP 429 + Retry-After seconds.
            return ({"ok": False, "error": fault.error or "ratelimited"}, 429,
                    {"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)})
        if fault.status != 200:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return {"ok": False, "error": fault.error or "internal_error"}, fault.status, extra
        return {"ok": False, "error": fault.error}, 200, {}

    @staticmethod
    def _error_body(e: _ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": e.code, **e.extra}
        if e.messages:
            body.setdefault("response_metadata", {})["messages"] = e.messages
        return body

    def _finish(self, method: str, args: dict[str, Any], headers: dict[str, str], started: float,
                body: dict[str, Any], status: int, notes: list[str], extra_headers: dict[str, str]) -> Response:
        clean_args = {k: (v.raw if isinstance(v, _Invalid) else v) for k, v in args.items() if k != "token"}
        call = RecordedCall(method=method, args=clean_args, headers=headers, status=status,
                            response=body, time=started, errors=notes)
        with self._lock:
            self.calls.append(call)
            self._calls_by_method.setdefault(method, []).append(call)
        return self._json(body, status, extra_headers)

