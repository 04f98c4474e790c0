"""Tests of the Slack Web API emulator (driven through the real slack_sdk.WebClient) and of the
signed event sender (against a real slack-bolt app behind the Flask adapter)."""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterator

import pytest
import requests
from flask import Flask, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.server import RunningServer, serve_in_thread
from emulators.slack_api import DEFAULT_SCOPES, SlackEmulator
from emulators.slack_events import SlackEventSender, sign

CHANNEL = "C0SUPPORT"
HUMAN = "U0HUMAN"


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[tuple[SlackEmulator, RunningServer]]:
    emu = SlackEmulator()
    server = serve_in_thread(emu.app)
    emu.url = server.url
    yield emu, server
    server.stop()


@pytest.fixture()
def emu(emulator_server: tuple[SlackEmulator, RunningServer]) -> SlackEmulator:
    emulator, _server = emulator_server
    emulator.reset()
    emulator.scopes = set(DEFAULT_SCOPES)
    emulator.add_channel(CHANNEL, "support", members=[HUMAN])
    emulator.add_user(HUMAN, "taro", real_name="Taro Yamada", display_name="taro-y",
                      image_url="https://img.example/taro.png")
    return emulator


@pytest.fixture()
def client(emu: SlackEmulator) -> WebClient:
    assert emu.url
    return WebClient(token=emu.bot_token, base_url=emu.url + "/api/", timeout=5)


# ------------------------------------------------------------------------------------------ Web API
def test_auth_test(client: WebClient, emu: SlackEmulator) -> None:
    r = client.auth_test()
    assert r["ok"] and r["user_id"] == "UBOT" and r["bot_id"] == "BBOT" and r["team_id"] == "T0TEST"
    assert r["url"].startswith("https://")
    bad = WebClient(token="xoxb-wrong", base_url=emu.url + "/api/")
    with pytest.raises(SlackApiError) as exc:
        bad.auth_test()
    assert exc.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as exc:
        WebClient(base_url=emu.url + "/api/").auth_test()
    assert exc.value.response["error"] == "not_authed"


def test_post_message_with_custom_identity(client: WebClient, emu: SlackEmulator) -> None:
    r = client.chat_postMessage(channel=CHANNEL, text="hello", username="Hanako (LINE)",
                                icon_url="https://img.example/hanako.png", unfurl_links=False)
    assert r["channel"] == CHANNEL and r["message"]["text"] == "hello"
    stored = emu.message(CHANNEL, r["ts"])
    assert stored is not None
    assert stored["username"] == "Hanako (LINE)"
    assert stored["icons"]["image_48"] == "https://img.example/hanako.png"
    assert stored["icon_url"] == "https://img.example/hanako.png"  # inspection convenience
    assert "icon_url" not in r["message"] and r["message"]["icons"] == stored["icons"]
    assert stored["user"] == "UBOT" and stored["bot_id"] == "BBOT"
    assert [m["ts"] for m in emu.messages(CHANNEL)] == [r["ts"]]
    call = emu.calls_for("chat.postMessage")[-1]
    assert call.args["unfurl_links"] is False and call.errors == []


def test_missing_scope_for_customize(client: WebClient, emu: SlackEmulator) -> None:
    emu.scopes.discard("chat:write.customize")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=CHANNEL, text="x", username="someone")
    assert exc.value.response["error"] == "missing_scope"
    assert exc.value.response["needed"] == "chat:write.customize"
    assert emu.messages(CHANNEL) == []
    client.chat_postMessage(channel=CHANNEL, text="plain is fine")


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_validation(client: WebClient, emu: SlackEmulator) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]},
         "invalid_blocks"),
        ({"channel": CHANNEL, "blocks": [{"type": "bogus"}]}, "invalid_blocks"),
        ({"channel": CHANNEL, "text": "x", "thread_ts": "not-a-ts"}, "invalid_thread_ts"),
        ({"channel": CHANNEL, "text": "x", "metadata": {"event_type": "x"}}, "invalid_metadata_schema"),
    ]
    for kwargs, code in cases:
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(**kwargs)
        assert exc.value.response["error"] == code, kwargs
    assert emu.messages(CHANNEL) == []
    # blocks without text are accepted; a channel name is resolved to its id
    r = client.chat_postMessage(channel="#support", blocks=[{"type": "section", "text": {"type": "mrkdwn",
                                                                                        "text": "*hi*"}}])
    assert r["channel"] == CHANNEL


def test_thread_replies_and_metadata(client: WebClient, emu: SlackEmulator) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="root",
                                   metadata={"event_type": "line_ticket", "event_payload": {"ticket": "T-1"}})
    replies = [client.chat_postMessage(channel=CHANNEL, text=f"reply {i}", thread_ts=root["ts"],
                                       metadata={"event_type": "line_msg", "event_payload": {"i": i}})
               for i in range(3)]
    tss = [root["ts"]] + [r["ts"] for r in replies]
    assert tss == sorted(tss, key=float) and len(set(tss)) == 4

    r = client.conversations_replies(channel=CHANNEL, ts=root["ts"], include_all_metadata=True)
    assert [m["text"] for m in r["messages"]] == ["root", "reply 0", "reply 1", "reply 2"]
    assert r["messages"][0]["metadata"]["event_payload"] == {"ticket": "T-1"}
    assert r["messages"][2]["metadata"] == {"event_type": "line_msg", "event_payload": {"i": 1}}
    assert r["messages"][0]["reply_count"] == 3
    assert r["messages"][1]["thread_ts"] == root["ts"]

    plain = client.conversations_replies(channel=CHANNEL, ts=root["ts"])
    assert all("metadata" not in m for m in plain["messages"])

    # pagination: parent first on every page
    page1 = client.conversations_replies(channel=CHANNEL, ts=root["ts"], limit=2)
    assert [m["text"] for m in page1["messages"]] == ["root", "reply 0"] and page1["has_more"]
    page2 = client.conversations_replies(channel=CHANNEL, ts=root["ts"], limit=2,
                                         cursor=page1["response_metadata"]["next_cursor"])
    assert [m["text"] for m in page2["messages"]] == ["root", "reply 1"]

    # history: top-level only, newest first
    client.chat_postMessage(channel=CHANNEL, text="second root")
    h = client.conversations_history(channel=CHANNEL, limit=1)
    assert [m["text"] for m in h["messages"]] == ["second root"] and h["has_more"]
    h2 = client.conversations_history(channel=CHANNEL, limit=1, cursor=h["response_metadata"]["next_cursor"])
    assert [m["text"] for m in h2["messages"]] == ["root"] and not h2["has_more"]
    assert [m["text"] for m in emu.messages(CHANNEL, root["ts"])] == ["reply 0", "reply 1", "reply 2"]

    with pytest.raises(SlackApiError) as exc:
        client.conversations_replies(channel=CHANNEL, ts="1.000001")
    assert exc.value.response["error"] == "thread_not_found"


def test_reply_to_unknown_thread_is_accepted_with_warning(client: WebClient, emu: SlackEmulator) -> None:
    r = client.chat_postMessage(channel=CHANNEL, text="orphan", thread_ts="1600000000.000100")
    assert r["ok"]
    assert emu.messages(CHANNEL) == []
    assert any(e.startswith("warning:") for e in emu.calls_for("chat.postMessage")[-1].errors)


def test_chat_update_and_delete(client: WebClient, emu: SlackEmulator) -> None:
    r = client.chat_postMessage(channel=CHANNEL, text="v1")
    u = client.chat_update(channel=CHANNEL, ts=r["ts"], text="v2",
                           blocks=[{"type": "section", "text": {"type": "plain_text", "text": "v2"}}])
    assert u["ts"] == r["ts"] and u["text"] == "v2"
    stored = emu.message(CHANNEL, r["ts"])
    assert stored is not None and stored["text"] == "v2" and stored["blocks"][0]["text"]["text"] == "v2"
    assert "edited" in stored
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=CHANNEL, ts="1600000000.000001", text="x")
    assert exc.value.response["error"] == "message_not_found"
    human = emu.add_user_message(CHANNEL, HUMAN, "mine")
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel=CHANNEL, ts=human["ts"], text="hijack")
    assert exc.value.response["error"] == "cant_update_message"
    client.chat_delete(channel=CHANNEL, ts=r["ts"])
    assert emu.message(CHANNEL, r["ts"]) is None


def test_reactions(client: WebClient, emu: SlackEmulator) -> None:
    r = client.chat_postMessage(channel=CHANNEL, text="react to me")
    client.reactions_add(channel=CHANNEL, timestamp=r["ts"], name="eyes")
    assert emu.reactions(CHANNEL, r["ts"]) == {"eyes": ["UBOT"]}
    with pytest.raises(SlackApiError) as exc:
        client.reactions_add(channel=CHANNEL, timestamp=r["ts"], name="eyes")
    assert exc.value.response["error"] == "already_reacted"
    got = client.reactions_get(channel=CHANNEL, timestamp=r["ts"])
    assert got["message"]["reactions"] == [{"name": "eyes", "users": ["UBOT"], "count": 1}]
    client.reactions_remove(channel=CHANNEL, timestamp=r["ts"], name="eyes")
    assert emu.reactions(CHANNEL, r["ts"]) == {}
    with pytest.raises(SlackApiError) as exc:
        client.reactions_remove(channel=CHANNEL, timestamp=r["ts"], name="eyes")
    assert exc.value.response["error"] == "no_reaction"
    with pytest.raises(SlackApiError) as exc:
        client.reactions_add(channel=CHANNEL, timestamp="1600000000.000001", name="eyes")
    assert exc.value.response["error"] == "message_not_found"


def test_injected_rate_limit(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=CHANNEL, text="x")
    resp = exc.value.response
    assert resp.status_code == 429 and resp["error"] == "ratelimited"
    assert resp.headers["Retry-After"] == "7"
    assert emu.messages(CHANNEL) == []
    client.chat_postMessage(channel=CHANNEL, text="x")  # only the next call failed
    assert len(emu.messages(CHANNEL)) == 1
    assert [c.status for c in emu.calls_for("chat.postMessage")] == [429, 200]


def test_injected_server_error_and_api_error(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail_next("*", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel=CHANNEL, text="x")
        assert exc.value.response.status_code == 500
    emu.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert exc.value.response.status_code == 200 and exc.value.response["error"] == "channel_not_found"
    assert emu.messages(CHANNEL) == []


def test_injected_delay_times_out(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail_next("chat.postMessage", delay=1.5)
    slow = WebClient(token=emu.bot_token, base_url=emu.url + "/api/", timeout=0.5)
    slow.retry_handlers.clear()
    with pytest.raises(Exception):
        slow.chat_postMessage(channel=CHANNEL, text="slow")
    assert emu.wait_for(lambda e: len(e.messages(CHANNEL)) == 1, timeout=5)


def test_after_effect_fault_posts_but_errors(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail_next("chat.postMessage", status=500, after_effect=True)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=CHANNEL, text="did it land?")
    assert exc.value.response.status_code == 500
    assert [m["text"] for m in emu.messages(CHANNEL)] == ["did it land?"]


def test_users_info_and_conversations(client: WebClient, emu: SlackEmulator) -> None:
    u = client.users_info(user=HUMAN)["user"]
    assert u["profile"]["display_name"] == "taro-y" and u["real_name"] == "Taro Yamada"
    assert u["profile"]["image_72"] == "https://img.example/taro.png"
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U0NOBODY")
    assert exc.value.response["error"] == "user_not_found"
    assert client.conversations_info(channel=CHANNEL)["channel"]["name"] == "support"
    for i in range(5):
        emu.add_user(f"U{i}", f"user{i}")
    emu.add_channel("C0BIG", "big", members=[f"U{i}" for i in range(5)])
    seen: list[str] = []
    for page in client.conversations_members(channel="C0BIG", limit=2):
        seen += page["members"]
    assert seen == ["U0", "U1", "U2", "U3", "U4", "UBOT"]


def test_get_permalink(client: WebClient, emu: SlackEmulator) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="root")
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=root["ts"])
    p = client.chat_getPermalink(channel=CHANNEL, message_ts=root["ts"])["permalink"]
    assert p == f"https://testteam.slack.com/archives/{CHANNEL}/p{root['ts'].replace('.', '')}"
    p2 = client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])["permalink"]
    assert p2.endswith(f"p{reply['ts'].replace('.', '')}?thread_ts={root['ts']}&cid={CHANNEL}")


def test_post_ephemeral(client: WebClient, emu: SlackEmulator) -> None:
    r = client.chat_postEphemeral(channel=CHANNEL, user=HUMAN, text="only you")
    assert r["message_ts"]
    assert [e["text"] for e in emu.ephemerals(user=HUMAN)] == ["only you"]
    emu.add_user("U0OUTSIDER", "outsider")
    with pytest.raises(SlackApiError) as exc:
        client.chat_postEphemeral(channel=CHANNEL, user="U0OUTSIDER", text="x")
    assert exc.value.response["error"] == "user_not_in_channel"


def test_files_upload_v2_into_thread(client: WebClient, emu: SlackEmulator) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="root")
    content = b"\x89PNG fake image bytes" * 10
    r = client.files_upload_v2(channel=CHANNEL, thread_ts=root["ts"], content=content, filename="photo.png",
                               title="A photo", initial_comment="from LINE")
    file_id = r["file"]["id"]
    assert emu.file_content(file_id) == content
    replies = emu.messages(CHANNEL, root["ts"])
    assert len(replies) == 1
    assert replies[0]["text"] == "from LINE"
    assert replies[0]["files"][0]["id"] == file_id and replies[0]["files"][0]["title"] == "A photo"
    assert replies[0]["files"][0]["mimetype"] == "image/png"
    # url_private is downloadable with the bot token (like Slack)
    dl = requests.get(replies[0]["files"][0]["url_private"], headers={"Authorization": f"Bearer {emu.bot_token}"},
                      timeout=5)
    assert dl.content == content
    assert [c.method for c in emu.calls[-2:]] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_views(client: WebClient, emu: SlackEmulator) -> None:
    view = {"type": "modal", "callback_id": "ticket", "title": {"type": "plain_text", "text": "Ticket"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "Note"},
                        "element": {"type": "plain_text_input", "action_id": "a"}}]}
    with pytest.raises(SlackApiError) as exc:
        client.views_open(trigger_id="", view=view)
    assert exc.value.response["error"] == "invalid_arguments"
    opened = client.views_open(trigger_id="123.456.abc", view=view)["view"]
    assert opened["id"] in emu.views and opened["callback_id"] == "ticket"
    bad = dict(view, title={"type": "plain_text", "text": "x" * 30})
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id=opened["id"], view=bad)
    assert exc.value.response["error"] == "invalid_arguments"
    client.views_update(view_id=opened["id"], view=dict(view, private_metadata="pm"))
    assert emu.views[opened["id"]]["private_metadata"] == "pm"
    client.views_publish(user_id=HUMAN, view={"type": "home", "blocks": []})


def test_form_and_json_bodies(client: WebClient, emu: SlackEmulator) -> None:
    url = emu.url + "/api/chat.postMessage"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "form"}}]
    r1 = requests.post(url, data={"token": emu.bot_token, "channel": CHANNEL, "text": "form",
                                  "blocks": json.dumps(blocks)}, timeout=5).json()
    r2 = requests.post(url, json={"channel": CHANNEL, "text": "json", "blocks": blocks},
                       headers={"Authorization": f"Bearer {emu.bot_token}"}, timeout=5).json()
    assert r1["ok"] and r2["ok"]
    assert r2["warning"] == "missing_charset"  # JSON without a charset, as Slack warns
    assert emu.calls_for("chat.postMessage")[0].args["blocks"] == blocks
    # via the SDK: reactions.add is form-encoded, chat.postMessage is JSON
    client.reactions_add(channel=CHANNEL, timestamp=r1["ts"], name="+1")
    assert emu.calls_for("reactions.add")[-1].headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert emu.calls_for("chat.postMessage")[-1].headers["Content-Type"].startswith("application/json")
    assert [m["text"] for m in emu.messages(CHANNEL)] == ["form", "json"]


def test_control_endpoints(emu: SlackEmulator) -> None:
    base = emu.url
    assert requests.post(f"{base}/_emulator/channels", json={"channel_id": "C0CTL", "name": "ctl"}, timeout=5).ok
    assert requests.post(f"{base}/_emulator/users", json={"user_id": "U0CTL", "name": "ctl"}, timeout=5).ok
    assert requests.post(f"{base}/_emulator/faults", json={"method": "chat.postMessage", "status": 503},
                         timeout=5).ok
    c = WebClient(token=emu.bot_token, base_url=base + "/api/")
    with pytest.raises(SlackApiError):
        c.chat_postMessage(channel="C0CTL", text="x")
    c.chat_postMessage(channel="C0CTL", text="y")
    msgs = requests.get(f"{base}/_emulator/messages", params={"channel": "C0CTL"}, timeout=5).json()
    assert [m["text"] for m in msgs] == ["y"]
    calls = requests.get(f"{base}/_emulator/calls", timeout=5).json()
    assert [c["status"] for c in calls if c["method"] == "chat.postMessage"] == [503, 200]
    assert requests.post(f"{base}/_emulator/reset", timeout=5).ok
    assert emu.calls == []


def test_ts_strictly_increasing(emu: SlackEmulator) -> None:
    tss = [emu.new_ts() for _ in range(2000)]
    assert all(float(a) < float(b) or (a < b and len(a) == len(b)) for a, b in zip(tss, tss[1:]))
    assert len(set(tss)) == len(tss)


# ------------------------------------------------------------------------------------------ sender
class _Bridge:
    """A tiny slack-bolt app recording what its listeners received."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.cond = threading.Condition()
        app = App(client=WebClient(token=emu.bot_token, base_url=emu.url + "/api/"),
                  signing_secret=emu.signing_secret)

        @app.event("message")
        def on_message(event: dict[str, Any]) -> None:
            self._got("message", event)

        @app.event("reaction_added")
        def on_reaction(event: dict[str, Any]) -> None:
            self._got("reaction_added", event)

        @app.command("/ticket")
        def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
            ack()
            self._got("command", command)
            respond("ticket created")  # posts to response_url

        @app.action("close_ticket")
        def on_action(ack: Any, body: dict[str, Any]) -> None:
            ack()
            self._got("action", body)

        @app.view("ticket_modal")
        def on_view(ack: Any, view: dict[str, Any]) -> None:
            ack()
            self._got("view", view)

        handler = SlackRequestHandler(app)
        flask_app = Flask("test-bridge")

        @flask_app.route("/slack/events", methods=["POST"])
        def events() -> Any:
            return handler.handle(request)

        self.server = serve_in_thread(flask_app)
        self.url = self.server.url + "/slack/events"

    def _got(self, kind: str, payload: dict[str, Any]) -> None:
        with self.cond:
            self.received.append((kind, payload))
            self.cond.notify_all()

    def wait(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for k, p in self.received:
                    if k == kind:
                        return p
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"listener {kind} not called; got {[k for k, _ in self.received]}")
                self.cond.wait(left)


@pytest.fixture()
def bridge(emu: SlackEmulator) -> Iterator[_Bridge]:
    b = _Bridge(emu)
    yield b
    b.server.stop()


def test_sign_matches_sdk_verifier() -> None:
    from slack_sdk.signature import SignatureVerifier

    body, ts = b'{"a":1}', int(time.time())
    assert SignatureVerifier("s3cret").is_valid(body, ts, sign("s3cret", ts, body))


def test_sender_message_event(bridge: _Bridge, emu: SlackEmulator) -> None:
    sender = SlackEventSender(bridge.url, emu)
    assert emu.calls_for("auth.test"), "bolt verified its token against the emulator"
    msg, resp = sender.user_message(CHANNEL, HUMAN, "hello <@UBOT>")
    assert resp.status_code == 200
    event = bridge.wait("message")
    assert event["ts"] == msg["ts"] and event["text"] == "hello <@UBOT>" and event["channel_type"] == "channel"
    assert event["blocks"][0]["type"] == "rich_text"
    assert emu.message(CHANNEL, msg["ts"]) is not None  # visible to history/permalinks

    reply, resp = sender.user_message(CHANNEL, HUMAN, "in thread", thread_ts=msg["ts"])
    assert resp.status_code == 200 and reply["thread_ts"] == msg["ts"] and reply["parent_user_id"] == HUMAN
    assert [m["ts"] for m in emu.messages(CHANNEL, msg["ts"])] == [reply["ts"]]

    assert sender.reaction(HUMAN, CHANNEL, msg["ts"], "white_check_mark").status_code == 200
    r_event = bridge.wait("reaction_added")
    assert r_event["item"] == {"type": "message", "channel": CHANNEL, "ts": msg["ts"]}
    assert r_event["item_user"] == HUMAN
    assert emu.reactions(CHANNEL, msg["ts"]) == {"white_check_mark": [HUMAN]}


def test_sender_rejections(bridge: _Bridge, emu: SlackEmulator) -> None:
    sender = SlackEventSender(bridge.url, emu)
    event = {"type": "message", "channel": CHANNEL, "user": HUMAN, "text": "x", "ts": emu.new_ts()}
    assert sender.send_event(event, signature="v0=" + "0" * 64).status_code == 401
    assert sender.send_event(event, timestamp=int(time.time()) - 600).status_code == 401
    wrong = SlackEventSender(bridge.url, emu, signing_secret="other-secret")
    assert wrong.send_event(event).status_code == 401
    assert bridge.received == []


def test_sender_command_and_response_url(bridge: _Bridge, emu: SlackEmulator) -> None:
    sender = SlackEventSender(bridge.url, emu)
    resp = sender.command("/ticket", "open urgent", user_id=HUMAN, channel_id=CHANNEL)
    assert resp.status_code == 200
    cmd = bridge.wait("command")
    assert cmd["text"] == "open urgent" and cmd["channel_name"] == "support" and cmd["user_name"] == "taro"
    assert emu.wait_for(lambda e: e.responses)
    assert emu.responses[0]["text"] == "ticket created"
    assert [e["text"] for e in emu.ephemerals(channel=CHANNEL, user=HUMAN)] == ["ticket created"]


def test_sender_block_action_and_view(bridge: _Bridge, emu: SlackEmulator) -> None:
    client = WebClient(token=emu.bot_token, base_url=emu.url + "/api/")
    posted = client.chat_postMessage(channel=CHANNEL, text="ticket", blocks=[
        {"type": "actions", "block_id": "ticket_actions", "elements": [
            {"type": "button", "action_id": "close_ticket", "value": "T-1",
             "text": {"type": "plain_text", "text": "Close"}}]}])
    sender = SlackEventSender(bridge.url, emu)
    assert sender.block_action(HUMAN, CHANNEL, posted["ts"], "close_ticket").status_code == 200
    body = bridge.wait("action")
    action = body["actions"][0]
    assert action["value"] == "T-1" and action["block_id"] == "ticket_actions" and action["type"] == "button"
    assert body["message"]["ts"] == posted["ts"] and body["container"]["channel_id"] == CHANNEL

    view = {"type": "modal", "callback_id": "ticket_modal", "title": {"type": "plain_text", "text": "T"},
            "blocks": []}
    assert sender.view_submission(HUMAN, view, {"note": {"text": "closing"}}).status_code == 200
    got = bridge.wait("view")
    assert got["state"]["values"]["note"]["text"] == {"type": "plain_text_input", "value": "closing"}


def test_views_push_stacks_on_the_modal_the_interaction_came_from(client: WebClient, emu: SlackEmulator) -> None:
    def modal(title: str) -> dict:
        return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": []}

    emu.register_trigger_id("1.1.message")                      # a message button: no modal to push on
    with pytest.raises(SlackApiError) as exc:
        client.views_push(trigger_id="1.1.message", view=modal("On what?"))
    assert exc.value.response["error"] == "not_found"
    root = client.views_open(trigger_id="1.2.open", view=modal("Root"))["view"]
    with pytest.raises(SlackApiError) as exc:                   # a trigger opens one view
        client.views_open(trigger_id="1.2.open", view=modal("Again"))
    assert exc.value.response["error"] == "exchanged_trigger_id"
    emu.register_trigger_id("1.3.in-root", view_id=root["id"])  # a button inside the root modal
    with pytest.raises(SlackApiError) as exc:
        client.views_push(trigger_id="1.3.in-root", view={"type": "modal", "blocks": []})   # no title
    assert exc.value.response["error"] == "invalid_arguments"
    second = client.views_push(trigger_id="1.3.in-root", view=modal("Second"))
    assert second["ok"] and second["view"]["root_view_id"] == root["id"]
    assert second["view"]["previous_view_id"] == root["id"] and second["view"]["id"] != root["id"]
    with pytest.raises(SlackApiError) as exc:
        client.views_push(trigger_id="1.3.in-root", view=modal("Twice"))
    assert exc.value.response["error"] == "exchanged_trigger_id"
    emu.register_trigger_id("1.4.in-second", view_id=second["view"]["id"])
    third = client.views_push(trigger_id="1.4.in-second", view=modal("Third"))["view"]
    assert third["root_view_id"] == root["id"] and third["previous_view_id"] == second["view"]["id"]
    emu.register_trigger_id("1.5.in-third", view_id=third["id"])
    with pytest.raises(SlackApiError) as exc:                   # "limited to pushing 2 additional views"
        client.views_push(trigger_id="1.5.in-third", view=modal("Fourth"))
    assert exc.value.response["error"] == "push_limit_reached"
    with pytest.raises(SlackApiError) as exc:
        client.views_push(view=modal("No trigger"))
    assert exc.value.response["error"] == "invalid_arguments"
