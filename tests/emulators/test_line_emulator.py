"""The LINE emulator, driven only through the unmodified official SDK ``linebot.v3``.

Every test runs in both validation modes: against the OpenAPI document (skipped when
``../shared/specs/line`` is absent) and against the SDK's generated models.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import flask
import pytest
import requests
from linebot.v3 import WebhookParser
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    ChatReference,
    Configuration,
    FlexBox,
    FlexBubble,
    FlexMessage,
    FlexText,
    ImageMessage,
    MarkMessagesAsReadByTokenRequest,
    MarkMessagesAsReadRequest,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    StickerMessage,
    TextMessage,
)
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import (
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    MessageEvent,
    StickerMessageContent,
    TextMessageContent,
)

from emulators.line_api import LineEmulator, redirect_data_api
from emulators.line_webhooks import WebhookFactory, send_webhook, sign, webhook_errors
from emulators.server import RunningServer, serve_in_thread

TOKEN = "test-line-token"
SECRET = "test-line-secret"
ALICE = "U" + "a1" * 16
BOB = "U" + "b2" * 16
GROUP = "C" + "c3" * 16
UNKNOWN = "U" + "ff" * 16


@pytest.fixture(scope="module", params=["openapi", "sdk-models"])
def emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LineEmulator:
    if request.param == "openapi":
        emu = LineEmulator(channel_access_token=TOKEN, channel_secret=SECRET, reply_token_ttl=60.0)
        if emu.validation_mode != "openapi":
            pytest.skip(f"LINE OpenAPI spec not found in {emu.spec_dir}")
    else:  # an empty spec directory forces the SDK-model mode
        emu = LineEmulator(channel_access_token=TOKEN, channel_secret=SECRET, reply_token_ttl=60.0,
                           spec_dir=tmp_path_factory.mktemp("no-spec"))
    assert emu.validation_mode == request.param
    return emu


@pytest.fixture(scope="module")
def server(emulator: LineEmulator) -> Iterator[RunningServer]:
    running = serve_in_thread(emulator.app)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(emulator: LineEmulator) -> None:
    emulator.reset()
    emulator.reply_token_ttl = 60.0
    emulator.add_user(ALICE, "Alice", picture_url="https://example.com/a.png", status_message="hi")
    emulator.add_user(BOB, "Bob")
    emulator.add_group(GROUP, "Support", members={ALICE: "Alice", BOB: "Bob"})


def _client(server: RunningServer, token: str = TOKEN) -> ApiClient:
    return redirect_data_api(ApiClient(Configuration(host=server.url, access_token=token)), server.url)


@pytest.fixture
def api(server: RunningServer) -> Iterator[MessagingApi]:
    with _client(server) as client:
        yield MessagingApi(client)


@pytest.fixture
def blob(server: RunningServer) -> Iterator[MessagingApiBlob]:
    with _client(server) as client:
        yield MessagingApiBlob(client)


def _body(exc: ApiException) -> dict:
    return json.loads(exc.body)


def _push(to: str, *texts: str) -> PushMessageRequest:
    return PushMessageRequest(to=to, messages=[TextMessage(text=t) for t in texts])


# ---------------------------------------------------------------------- basics


def test_profile_lookup(api: MessagingApi, emulator: LineEmulator) -> None:
    profile = api.get_profile(ALICE)
    assert profile.display_name == "Alice"
    assert profile.picture_url == "https://example.com/a.png"
    assert profile.status_message == "hi"
    with pytest.raises(ApiException) as err:
        api.get_profile(UNKNOWN)
    assert err.value.status == 404
    assert [r.operation for r in emulator.requests] == ["getProfile", "getProfile"]
    assert emulator.requests[0].status == 200


def test_group_summary_and_member_profile(api: MessagingApi) -> None:
    assert api.get_group_summary(GROUP).group_name == "Support"
    assert api.get_group_member_profile(GROUP, BOB).display_name == "Bob"
    assert api.get_bot_info().chat_mode == "bot"


def test_text_push_delivered(api: MessagingApi, emulator: LineEmulator) -> None:
    response = api.push_message_with_http_info(_push(ALICE, "hello", "world"))
    assert response.status_code == 200
    assert response.headers["x-line-request-id"]
    assert len(response.data.sent_messages) == 2
    assert emulator.delivered_texts(ALICE) == ["hello", "world"]
    assert emulator.delivered_texts(BOB) == []
    delivery = emulator.deliveries[0]
    assert delivery.via == "push" and delivery.to == [ALICE] and delivery.retry_key is None
    assert emulator.requests_for("pushMessage")[0].errors == []


def test_rich_messages_accepted(api: MessagingApi, emulator: LineEmulator) -> None:
    flex = FlexMessage(alt_text="card", contents=FlexBubble(
        body=FlexBox(layout="vertical", contents=[FlexText(text="Ticket #1"), FlexText(text="open")])))
    messages = [
        ImageMessage(original_content_url="https://example.com/i.jpg", preview_image_url="https://example.com/p.jpg"),
        StickerMessage(package_id="446", sticker_id="1988"),
        flex,
    ]
    api.push_message(PushMessageRequest(to=GROUP, messages=messages))
    assert [m["type"] for m in emulator.deliveries[0].messages] == ["image", "sticker", "flex"]
    api.multicast(MulticastRequest(to=[ALICE, BOB, UNKNOWN], messages=[TextMessage(text="all")]))
    assert emulator.deliveries[-1].to == [ALICE, BOB]


def test_push_to_unknown_recipient_is_400(api: MessagingApi, emulator: LineEmulator) -> None:
    with pytest.raises(ApiException) as err:
        api.push_message(_push(UNKNOWN, "hi"))
    assert err.value.status == 400
    assert _body(err.value) == {"message": "Failed to send messages"}
    assert emulator.deliveries == []


def test_push_to_blocked_friend(api: MessagingApi, emulator: LineEmulator) -> None:
    emulator.block(BOB)
    api.push_message(_push(BOB, "silently dropped"))  # 200 like the real API (LINE FAQ)
    assert emulator.deliveries == []
    emulator.reject_push_to_blocked = True
    try:
        with pytest.raises(ApiException) as err:
            api.push_message(_push(BOB, "rejected"))
        assert err.value.status == 400
    finally:
        emulator.reject_push_to_blocked = False


# ---------------------------------------------------------------------- retry key


def test_retry_key_twice_gives_409_and_one_delivery(api: MessagingApi, emulator: LineEmulator) -> None:
    key = str(uuid.uuid4())
    first = api.push_message_with_http_info(_push(ALICE, "once"), x_line_retry_key=key)
    with pytest.raises(ApiException) as err:
        api.push_message(_push(ALICE, "once"), x_line_retry_key=key)
    assert err.value.status == 409
    body = _body(err.value)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"] == [m.to_dict() for m in first.data.sent_messages]
    assert err.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert emulator.delivered_texts() == ["once"]
    assert emulator.deliveries[0].retry_key == key


def test_failed_request_does_not_consume_retry_key(api: MessagingApi, emulator: LineEmulator) -> None:
    key = str(uuid.uuid4())
    emulator.fail_next("pushMessage", 500)
    with pytest.raises(ApiException) as err:
        api.push_message(_push(ALICE, "retried"), x_line_retry_key=key)
    assert err.value.status == 500
    assert emulator.deliveries == []
    api.push_message(_push(ALICE, "retried"), x_line_retry_key=key)
    assert emulator.delivered_texts() == ["retried"]
    assert [r.status for r in emulator.requests_for("pushMessage")] == [500, 200]


def test_retry_key_must_be_uuid_and_only_on_push(api: MessagingApi, emulator: LineEmulator) -> None:
    with pytest.raises(ApiException) as err:
        api.push_message(_push(ALICE, "x"), x_line_retry_key="not-a-uuid")
    assert err.value.status == 400
    token = emulator.issue_reply_token(ALICE)
    with pytest.raises(ApiException) as err:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="x")]),
                          _headers={"X-Line-Retry-Key": str(uuid.uuid4())})
    assert err.value.status == 400
    assert emulator.deliveries == []


def test_timeout_then_retry_is_deduplicated(server: RunningServer, emulator: LineEmulator) -> None:
    key = str(uuid.uuid4())
    emulator.fail_next("pushMessage", 0, delay=0.5)  # held, then processed normally
    with _client(server) as client:
        api = MessagingApi(client)
        with pytest.raises(Exception):
            api.push_message(_push(ALICE, "slow"), x_line_retry_key=key, _request_timeout=0.1)
        assert emulator.wait_for(lambda e: len(e.deliveries) == 1, timeout=5)
        with pytest.raises(ApiException) as err:
            api.push_message(_push(ALICE, "slow"), x_line_retry_key=key)
    assert err.value.status == 409
    assert emulator.delivered_texts() == ["slow"]


# ---------------------------------------------------------------------- faults / quota


def test_429_with_retry_after(api: MessagingApi, emulator: LineEmulator) -> None:
    emulator.fail_next("*", 429, times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            api.push_message(_push(ALICE, "x"))
        assert err.value.status == 429
        assert err.value.headers["Retry-After"] == "7"
        assert err.value.headers["x-line-request-id"]
    api.push_message(_push(ALICE, "x"))
    assert len(emulator.deliveries) == 1


def test_monthly_quota(api: MessagingApi, emulator: LineEmulator) -> None:
    emulator.set_monthly_quota(2)
    api.push_message(_push(ALICE, "1"))
    api.push_message(_push(BOB, "2"))
    with pytest.raises(ApiException) as err:
        api.push_message(_push(ALICE, "3"))
    assert err.value.status == 429
    assert _body(err.value) == {"message": "You have reached your monthly limit."}
    # replies are not counted
    api.reply_message(ReplyMessageRequest(reply_token=emulator.issue_reply_token(ALICE),
                                          messages=[TextMessage(text="reply")]))
    assert api.get_message_quota().value == 2
    assert api.get_message_quota_consumption().total_usage == 2
    assert emulator.delivered_texts() == ["1", "2", "reply"]


# ---------------------------------------------------------------------- reply tokens


def test_reply_token_single_use(api: MessagingApi, emulator: LineEmulator) -> None:
    token = emulator.issue_reply_token(ALICE)
    api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="r1")]))
    with pytest.raises(ApiException) as err:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="r2")]))
    assert err.value.status == 400
    assert _body(err.value) == {"message": "Invalid reply token"}
    assert emulator.delivered_texts(ALICE) == ["r1"]
    assert emulator.deliveries[0].via == "reply"


def test_reply_token_expiry(api: MessagingApi, emulator: LineEmulator) -> None:
    stale = emulator.issue_reply_token(ALICE)
    emulator.expire_reply_tokens()
    with pytest.raises(ApiException) as err:
        api.reply_message(ReplyMessageRequest(reply_token=stale, messages=[TextMessage(text="late")]))
    assert err.value.status == 400
    emulator.reply_token_ttl = 0.05
    token = emulator.issue_reply_token(ALICE)
    time.sleep(0.1)
    with pytest.raises(ApiException):
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="late")]))
    with pytest.raises(ApiException):
        api.reply_message(ReplyMessageRequest(reply_token="never-issued", messages=[TextMessage(text="x")]))
    assert emulator.deliveries == []


# ---------------------------------------------------------------------- validation


def test_six_messages_rejected(api: MessagingApi, emulator: LineEmulator) -> None:
    # The SDK itself refuses 6 messages; .construct() skips its model validation.
    request = PushMessageRequest.construct(to=ALICE, messages=[TextMessage(text=str(i)) for i in range(6)])
    with pytest.raises(ApiException) as err:
        api.push_message(request)
    assert err.value.status == 400
    assert {"message": "Size must be between 1 and 5", "property": "messages"} in _body(err.value)["details"]
    assert emulator.deliveries == []
    assert emulator.requests_for("pushMessage")[0].errors


def test_text_length_counts_utf16_units(api: MessagingApi, emulator: LineEmulator) -> None:
    emoji = "\U0001F600"  # outside the BMP: 2 UTF-16 code units
    api.push_message(_push(ALICE, emoji * 2500))  # 2500 code points = 5000 units: OK
    with pytest.raises(ApiException) as err:
        api.push_message(_push(ALICE, emoji * 2501))  # 2501 code points = 5002 units: too long
    assert err.value.status == 400
    assert _body(err.value)["details"] == [
        {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}]
    assert len(emulator.deliveries) == 1


def test_invalid_body_reports_property(api: MessagingApi, emulator: LineEmulator) -> None:
    request = PushMessageRequest.construct(messages=[TextMessage(text="no recipient")])
    with pytest.raises(ApiException) as err:
        api.push_message(request)
    assert err.value.status == 400
    body = _body(err.value)
    assert body["message"] == "The request body has 1 error(s)"
    assert body["details"] == [{"message": "must be specified", "property": "to"}]
    assert emulator.requests_for("pushMessage")[0].errors == ["to: must be specified"]
    # nested, discriminator-resolved schema: a text message without text
    bad = PushMessageRequest.construct(to=ALICE, messages=[TextMessage.construct(type="text")])
    with pytest.raises(ApiException) as err:
        api.push_message(bad)
    assert _body(err.value)["details"] == [{"message": "must be specified", "property": "messages[0].text"}]


def test_bad_token_is_401(server: RunningServer, emulator: LineEmulator) -> None:
    with _client(server, token="wrong") as client:
        with pytest.raises(ApiException) as err:
            MessagingApi(client).push_message(_push(ALICE, "x"))
    assert err.value.status == 401
    assert _body(err.value)["message"].startswith("Authentication failed")
    assert emulator.deliveries == []


def test_unemulated_operation_is_404(api: MessagingApi, emulator: LineEmulator) -> None:
    with pytest.raises(ApiException) as err:
        api.get_followers()
    assert err.value.status == 404
    assert "message" in _body(err.value)
    assert emulator.requests[-1].operation == "getFollowers"


# ---------------------------------------------------------------------- content, read, loading


def test_content_download_via_blob(blob: MessagingApiBlob, emulator: LineEmulator) -> None:
    emulator.add_content("4711", b"\x89PNG fake image", "image/png")
    assert bytes(blob.get_message_content("4711")) == b"\x89PNG fake image"
    assert blob.get_message_content_transcoding_by_message_id("4711").status == "succeeded"
    with pytest.raises(ApiException) as err:
        blob.get_message_content("0000")
    assert err.value.status == 404
    assert [r.operation for r in emulator.requests][:1] == ["getMessageContent"]


def test_mark_as_read(api: MessagingApi, emulator: LineEmulator) -> None:
    api.mark_messages_as_read(MarkMessagesAsReadRequest(chat=ChatReference(user_id=ALICE)))
    token = emulator.issue_mark_as_read_token(BOB)
    api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(mark_as_read_token=token))
    assert emulator.marked_as_read == [ALICE, BOB]
    with pytest.raises(ApiException) as err:
        api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(mark_as_read_token="bogus"))
    assert err.value.status == 400
    assert emulator.requests_for("markMessagesAsRead")[0].path == "/v2/bot/message/markAsRead"
    assert emulator.requests_for("markMessagesAsReadByToken")[0].path == "/v2/bot/chat/markAsRead"


def test_loading_animation(api: MessagingApi, emulator: LineEmulator) -> None:
    api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=ALICE, loading_seconds=10))
    assert emulator.requests_for("showLoadingAnimation")[0].status == 202
    with pytest.raises(ApiException) as err:
        api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=GROUP, loading_seconds=10))
    assert err.value.status == 400
    with pytest.raises(ApiException) as err:
        api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=ALICE, loading_seconds=7))
    assert _body(err.value)["details"][0]["property"] == "loadingSeconds"
    assert emulator.loading_animations == [(ALICE, 10)]


# ---------------------------------------------------------------------- webhooks


def test_webhook_signature_and_events_parse(emulator: LineEmulator) -> None:
    factory = WebhookFactory(emulator)
    events = [
        factory.text(ALICE, "hello"),
        factory.text(GROUP, "in group", source_type="group", user_id=BOB),
        factory.image(ALICE),
        factory.sticker(ALICE),
        factory.file(ALICE, "a.pdf"),
        factory.location(ALICE),
        factory.video(ALICE),
        factory.audio(ALICE, mode="standby"),
        factory.follow(ALICE),
        factory.unfollow(ALICE),
        factory.join(GROUP),
        factory.leave(GROUP),
        factory.member_joined(GROUP, [BOB]),
        factory.member_left(GROUP, [BOB]),
        factory.postback(ALICE, "action=close"),
        factory.unsend(ALICE, "123"),
    ]
    body = factory.body(events)
    assert webhook_errors(json.loads(body), emulator.spec_dir) == []
    signature = sign(SECRET, body)
    assert SignatureValidator(SECRET).validate(body.decode(), signature)
    assert not SignatureValidator("other-secret").validate(body.decode(), signature)
    parsed = WebhookParser(SECRET).parse(body.decode(), signature)
    assert len(parsed) == len(events)
    assert isinstance(parsed[0], MessageEvent) and isinstance(parsed[0].message, TextMessageContent)
    assert isinstance(parsed[2].message, ImageMessageContent)
    assert isinstance(parsed[3].message, StickerMessageContent)
    assert isinstance(parsed[4].message, FileMessageContent) and parsed[4].message.file_size > 0
    assert isinstance(parsed[8], FollowEvent)
    assert len({e["webhookEventId"] for e in events}) == len(events)
    assert len({e["message"]["id"] for e in events if e["type"] == "message"}) == 8
    assert "replyToken" not in events[7]  # standby
    assert "replyToken" not in events[9]  # unfollow


def test_webhook_tokens_work_against_emulator(api: MessagingApi, blob: MessagingApiBlob,
                                              emulator: LineEmulator) -> None:
    factory = WebhookFactory(emulator)
    text = factory.text(ALICE, "help")
    image = factory.image(ALICE, data=b"jpeg-bytes")
    api.reply_message(ReplyMessageRequest(reply_token=text["replyToken"], messages=[TextMessage(text="ok")]))
    api.mark_messages_as_read_by_token(
        MarkMessagesAsReadByTokenRequest(mark_as_read_token=text["message"]["markAsReadToken"]))
    assert bytes(blob.get_message_content(image["message"]["id"])) == b"jpeg-bytes"
    assert emulator.delivered_texts(ALICE) == ["ok"]


def test_sample_events_all_parse(emulator: LineEmulator) -> None:
    factory = WebhookFactory(emulator)
    events = factory.sample_events()
    assert len(events) >= 20
    assert len({e["webhookEventId"] for e in events}) == len(events)
    body = factory.body(events)
    parsed = WebhookParser(SECRET).parse(body.decode(), sign(SECRET, body))
    assert len(parsed) == len(events)


def test_send_webhook_posts_signed_body(emulator: LineEmulator) -> None:
    received: list[tuple[bytes, str]] = []
    receiver = flask.Flask("receiver")

    @receiver.post("/callback")
    def callback() -> str:
        received.append((flask.request.get_data(), flask.request.headers["X-Line-Signature"]))
        return "OK"

    running = serve_in_thread(receiver)
    try:
        factory = WebhookFactory(emulator)
        body = factory.body([factory.text(ALICE, "hi")])
        assert send_webhook(running.url + "/callback", SECRET, body).status_code == 200
        assert send_webhook(running.url + "/callback", SECRET, body, signature="bad").status_code == 200
    finally:
        running.stop()
    assert received[0] == (body, sign(SECRET, body))
    assert received[1][1] == "bad"


# ---------------------------------------------------------------------- control endpoints


def test_control_endpoints(server: RunningServer, emulator: LineEmulator, api: MessagingApi) -> None:
    requests.post(server.url + "/_emulator/users", json={"user_id": UNKNOWN, "display_name": "Carol"}, timeout=5)
    token = requests.post(server.url + "/_emulator/reply-tokens", json={"source_id": UNKNOWN},
                          timeout=5).json()["replyToken"]
    requests.post(server.url + "/_emulator/faults", json={"operation": "getProfile", "status": 503}, timeout=5)
    with pytest.raises(ApiException) as err:
        api.get_profile(UNKNOWN)
    assert err.value.status == 503
    assert api.get_profile(UNKNOWN).display_name == "Carol"
    api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="hey")]))
    deliveries = requests.get(server.url + "/_emulator/deliveries", timeout=5).json()
    assert deliveries[0]["to"] == [UNKNOWN] and deliveries[0]["messages"][0]["text"] == "hey"
    recorded = requests.get(server.url + "/_emulator/requests", timeout=5).json()
    assert [r["status"] for r in recorded] == [503, 200, 200]
    requests.post(server.url + "/_emulator/reset", timeout=5)
    assert emulator.requests == [] and emulator.deliveries == []
