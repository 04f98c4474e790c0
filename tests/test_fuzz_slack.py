"""Correctly signed Slack requests with hostile structure and content (hypothesis).

Judge: never a 5xx (bolt's own middleware included), no worker crash, and afterwards a
normal staff reply in a thread still reaches the friend on LINE within seconds.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.slack_ui.parent import ACTION_ASSIGN, ACTION_CLAIM, ACTION_MARK, ACTION_RESOLVE, ACTION_TYPING
from bridge.slack_ui.pending import MORE_ACTION_ID
from tests.conftest import HANAKO, STAFF, TRIAGE, wait_until
from tests.fuzz_strategies import HOSTILE, JSON, ODD_STRINGS, mutated

FUZZ = settings(max_examples=50, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
TEXTISH = st.one_of(st.text(max_size=20), ODD_STRINGS)
EVENT_TYPES = st.sampled_from(["message", "reaction_added", "reaction_removed", "app_mention", "member_joined_channel",
                               "file_shared", "unknown_future_event"])
ACTION_IDS = st.sampled_from([ACTION_CLAIM, ACTION_RESOLVE, ACTION_TYPING, ACTION_MARK, ACTION_ASSIGN, MORE_ACTION_ID,
                              "unknown_action"])
PAYLOAD_TYPES = st.sampled_from(["block_actions", "view_submission", "view_closed", "message_action", "shortcut",
                                 "block_suggestion", "interactive_message", "unknown"])
COMMANDS = st.sampled_from(["/claim", "/resolve", "/assign", "/mark", "/pending", "/unknown"])


def _thread(h) -> str:
    h.friend_says(HANAKO, "こんにちは")
    return h.thread_of(HANAKO)


def _reply_still_reaches_line(h, thread: str, workers) -> None:
    assert all(p.poll() is None for p in workers), "an rq worker crashed"
    h.staff_says(thread, "ふつうの返信です")
    assert wait_until(lambda: "ふつうの返信です" in h.line.delivered_texts(HANAKO), timeout=30)


def test_hostile_events_callbacks_never_5xx(h, workers):
    thread = _thread(h)
    paths = [("type",), ("channel",), ("ts",), ("thread_ts",), ("user",), ("text",), ("subtype",), ("files",),
             ("bot_id",), ("item",), ("item", "channel"), ("item", "ts"), ("item", "type"), ("reaction",), ("blocks",)]

    @FUZZ
    @given(data=st.data())
    def one(data):
        base = {"type": data.draw(EVENT_TYPES), "channel": TRIAGE, "user": STAFF, "text": "hi", "ts": "1700000000.000100",
                "thread_ts": thread, "reaction": "white_check_mark", "event_ts": "1700000000.000100",
                "item": {"type": "message", "channel": TRIAGE, "ts": thread}}
        event = data.draw(mutated(base, paths))
        envelope = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event": event,
                    "event_id": data.draw(st.one_of(st.just("Ev" + str(data.draw(st.integers(0, 10 ** 9)))), HOSTILE)),
                    "authorizations": data.draw(st.one_of(st.just([{"team_id": "T1", "user_id": "UBOT"}]), HOSTILE))}
        if data.draw(st.booleans()) and data.draw(st.booleans()):
            envelope = data.draw(mutated(envelope, [("type",), ("event",), ("team_id",), ("authorizations",)]))
        resp = h.slack_sender.post_signed(json.dumps(envelope).encode(), "application/json")
        assert resp.status_code < 500, resp.text

    one()
    _reply_still_reaches_line(h, thread, workers)


def test_hostile_interactivity_and_commands_never_5xx(h, workers):
    thread = _thread(h)
    paths = [("type",), ("user",), ("user", "id"), ("channel",), ("channel", "id"), ("message",), ("message", "ts"),
             ("container",), ("actions",), ("team",), ("view",), ("response_url",), ("trigger_id",), ("callback_id",)]

    @FUZZ
    @given(data=st.data())
    def one(data):
        if data.draw(st.booleans()):
            action = {"action_id": data.draw(ACTION_IDS), "value": data.draw(st.one_of(TEXTISH, HOSTILE)),
                      "action_ts": "1700000000.1", "selected_option": data.draw(JSON), "selected_user": data.draw(JSON)}
            base = {"type": data.draw(PAYLOAD_TYPES), "user": {"id": STAFF}, "channel": {"id": TRIAGE},
                    "message": {"ts": thread}, "container": {"message_ts": thread}, "team": {"domain": "x"},
                    "actions": [action], "callback_id": data.draw(TEXTISH), "trigger_id": "1.2.3",
                    "view": {"callback_id": data.draw(TEXTISH), "state": {"values": data.draw(JSON)},
                             "private_metadata": data.draw(TEXTISH)}}
            payload = data.draw(mutated(base, paths))
            form = {"payload": json.dumps(payload)}
        else:
            form = {"command": data.draw(COMMANDS), "text": data.draw(TEXTISH), "user_id": data.draw(TEXTISH),
                    "channel_id": data.draw(st.one_of(st.just(TRIAGE), TEXTISH)), "trigger_id": data.draw(TEXTISH),
                    "response_url": data.draw(TEXTISH)}
        form = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in form.items()}
        resp = h.slack_sender.post_signed(urlencode(form).encode(), "application/x-www-form-urlencoded")
        assert resp.status_code < 500, resp.text

    one()
    _reply_still_reaches_line(h, thread, workers)


def test_signed_garbage_bodies_never_5xx(h):
    bodies = [b"", b"payload=", b"payload=%7B", b"payload=%5B1%5D", b"payload=null", b"[1,2]", b"{", b"null", b"\xff\xfe",
              b"{" + b'"a":[' * 5000 + b"]" * 5000 + b"}", b"payload=" + b"%5B" * 3000, b"command=%2Fpending",
              b'{"type": "url_verification"}', b'{"type": "event_callback", "event": "x"}',
              b'{"type": "event_callback", "event": {"type": ["message"]}}', b'{"type": 1, "event": null}']
    for body in bodies:
        for ctype in ("application/json", "application/x-www-form-urlencoded"):
            resp = h.slack_sender.post_signed(body, ctype)
            assert resp.status_code < 500, (body[:60], ctype, resp.status_code, resp.text[:200])
