"""``/_emulator/...`` control endpoints (no auth, not recorded), for standalone use.

Mixed into :class:`emulators.line.core.LineEmulator`.
"""
from __future__ import annotations

from dataclasses import asdict

import flask


class ControlMixin:
    """Handlers of the control endpoints registered by ``LineEmulator._build_app``."""

    # control endpoints (no auth, not recorded) ----------------------------------------
    def _ctl_requests(self) -> flask.Response:
        with self._lock:
            return flask.jsonify([asdict(r) for r in self.requests])

    def _ctl_deliveries(self) -> flask.Response:
        with self._lock:
            return flask.jsonify([asdict(d) for d in self.deliveries])

    def _ctl_reset(self) -> flask.Response:
        self.reset()
        return flask.jsonify({})

    def _ctl_faults(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        self.fail_next(j["operation"], int(j["status"]), int(j.get("times", 1)), j.get("retry_after"),
                       float(j.get("delay", 0.0)), j.get("body"))
        return flask.jsonify({})

    def _ctl_users(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        self.add_user(j["user_id"], j["display_name"], j.get("picture_url"), j.get("status_message"),
                      j.get("language", "ja"), channel=j.get("channel"))
        return flask.jsonify({})

    def _ctl_groups(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        self.add_group(j["group_id"], j["name"], j.get("picture_url"), j.get("members"))
        return flask.jsonify({})

    def _ctl_quota(self) -> flask.Response:
        self.set_monthly_quota(flask.request.get_json(force=True).get("quota"))
        return flask.jsonify({})

    def _ctl_reply_tokens(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        return flask.jsonify({"replyToken": self.issue_reply_token(j["source_id"], channel=j.get("channel"))})

    def _ctl_channels(self) -> flask.Response:
        if flask.request.method == "POST":
            j = flask.request.get_json(force=True)
            self.add_channel(j["bot_user_id"], j["channel_secret"], j["access_token"], j.get("display_name", ""),
                             j.get("basic_id", ""))
        return flask.jsonify([asdict(c) for c in self.channels])
