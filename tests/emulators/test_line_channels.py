"""Several LINE Official Accounts (channels) in one emulator, through the official SDK."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import flask
import pytest
import requests
from linebot.v3 import WebhookParser
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    SetWebhookEndpointRequest,
    TestWebhookEndpointRequest as WebhookTestRequest,
    TextMessage,
)
from linebot.v3.webhook import SignatureValidator

from emulators.line_api import LineEmulator
from emulators.line_webhooks import WebhookFactory, sign
from emulators.server import RunningServer, serve_in_thread

TOKEN, SECRET = "token-a", "secret-a"
SHOP_ID, SHOP_TOKEN, SHOP_SECRET = "U" + "5" * 32, "token-shop", "secret-shop"
ALICE = "U" + "a1" * 16
BOB = "U" + "b2" * 16


@pytest.fixture(scope="module")
def emulator() -> LineEmulator:
    emu = LineEmulator(channel_access_token=TOKEN, channel_secret=SECRET)
    emu.add_channel(SHOP_ID, SHOP_SECRET, SHOP_TOKEN, display_name="Shop", basic_id="@shop123")
    return emu


@pytest.fixture(scope="module")
def server(emulator: LineEmulator) -> Iterator[RunningServer]:
    running = serve_in_thread(emulator.app)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(emulator: LineEmulator) -> None:
    emulator.reset()
    emulator.add_user(ALICE, "Alice")  # friend of every account
    emulator.add_user(BOB, "Bob", channel=SHOP_ID)  # friend of the shop only


def _api(server: RunningServer, token: str) -> MessagingApi:
    return MessagingApi(ApiClient(Configuration(host=server.url, access_token=token)))


@pytest.fixture
def main_api(server: RunningServer) -> MessagingApi:
    return _api(server, TOKEN)


@pytest.fixture
def shop_api(server: RunningServer) -> MessagingApi:
    return _api(server, SHOP_TOKEN)


def _push(to: str, text: str) -> PushMessageRequest:
    return PushMessageRequest(to=to, messages=[TextMessage(text=text)])


def test_bot_info_is_per_channel(main_api: MessagingApi, shop_api: MessagingApi, emulator: LineEmulator) -> None:
    shop = shop_api.get_bot_info()
    assert (shop.user_id, shop.display_name, shop.basic_id) == (SHOP_ID, "Shop", "@shop123")
    main = main_api.get_bot_info()
    assert (main.user_id, main.display_name, main.basic_id) == (emulator.bot_user_id, "Emulated Bot", "@000emul")
    assert [r.channel for r in emulator.requests] == [SHOP_ID, emulator.bot_user_id]


def test_unknown_token_is_401(server: RunningServer, emulator: LineEmulator) -> None:
    with pytest.raises(ApiException) as err:
        _api(server, "nobody").get_bot_info()
    assert err.value.status == 401
    assert json.loads(err.value.body)["message"].startswith("Authentication failed")
    assert emulator.requests[-1].channel == ""


def test_deliveries_attributed_to_the_sending_channel(main_api: MessagingApi, shop_api: MessagingApi,
                                                      emulator: LineEmulator) -> None:
    main_api.push_message(_push(ALICE, "from main"))
    shop_api.push_message(_push(ALICE, "from shop"))
    shop_api.push_message(_push(BOB, "shop to bob"))
    assert [d.channel for d in emulator.deliveries] == [emulator.bot_user_id, SHOP_ID, SHOP_ID]
    assert [d.messages[0]["text"] for d in emulator.deliveries_for(SHOP_ID)] == ["from shop", "shop to bob"]
    assert emulator.delivered_texts(ALICE, channel=SHOP_ID) == ["from shop"]
    assert emulator.delivered_texts(channel=emulator.bot_user_id) == ["from main"]
    assert emulator.delivered_texts(ALICE) == ["from main", "from shop"]


def test_friends_are_per_channel(main_api: MessagingApi, shop_api: MessagingApi, emulator: LineEmulator) -> None:
    assert shop_api.get_profile(BOB).display_name == "Bob"
    with pytest.raises(ApiException) as err:
        main_api.get_profile(BOB)  # not a friend of the main account
    assert err.value.status == 404
    with pytest.raises(ApiException) as err:
        main_api.push_message(_push(BOB, "x"))
    assert err.value.status == 400
    # the same user id may be a friend of both accounts
    emulator.add_user(BOB, "Bob", channel=emulator.bot_user_id)
    main_api.push_message(_push(BOB, "now a friend"))
    assert emulator.delivered_texts(BOB) == ["now a friend"]


def test_reply_token_only_valid_for_its_channel(main_api: MessagingApi, shop_api: MessagingApi,
                                                emulator: LineEmulator) -> None:
    factory = WebhookFactory(emulator, channel=SHOP_ID)
    event = factory.text(ALICE, "hi shop")
    reply = ReplyMessageRequest(reply_token=event["replyToken"], messages=[TextMessage(text="hello")])
    with pytest.raises(ApiException) as err:
        main_api.reply_message(reply)
    assert err.value.status == 400
    shop_api.reply_message(reply)
    assert emulator.deliveries_for(SHOP_ID)[0].via == "reply"


def test_retry_keys_and_quota_are_per_channel(main_api: MessagingApi, shop_api: MessagingApi,
                                              emulator: LineEmulator) -> None:
    key = str(uuid.uuid4())
    main_api.push_message(_push(ALICE, "main"), x_line_retry_key=key)
    shop_api.push_message(_push(ALICE, "shop"), x_line_retry_key=key)  # another account: not a retry
    with pytest.raises(ApiException) as err:
        shop_api.push_message(_push(ALICE, "shop"), x_line_retry_key=key)
    assert err.value.status == 409
    emulator.set_monthly_quota(1, channel=SHOP_ID)
    with pytest.raises(ApiException) as err:
        shop_api.push_message(_push(ALICE, "over"))
    assert err.value.status == 429
    main_api.push_message(_push(ALICE, "main is unlimited"))
    assert shop_api.get_message_quota().value == 1
    assert (emulator.usage_of(SHOP_ID), emulator.monthly_usage) == (1, 2)


def test_fault_limited_to_one_channel(main_api: MessagingApi, shop_api: MessagingApi,
                                      emulator: LineEmulator) -> None:
    emulator.fail_next("pushMessage", 500, channel=SHOP_ID)
    main_api.push_message(_push(ALICE, "main ok"))
    with pytest.raises(ApiException) as err:
        shop_api.push_message(_push(ALICE, "shop fails"))
    assert err.value.status == 500


def test_webhook_factory_builds_and_signs_for_a_channel(emulator: LineEmulator) -> None:
    received: list[tuple[bytes, str]] = []
    receiver = flask.Flask("receiver")

    @receiver.post("/hook")
    def hook() -> str:
        received.append((flask.request.get_data(), flask.request.headers["X-Line-Signature"]))
        return "OK"

    running = serve_in_thread(receiver)
    try:
        factory = WebhookFactory(emulator, channel=SHOP_ID)
        assert factory.destination == SHOP_ID and factory.channel_secret == SHOP_SECRET
        assert factory.send(running.url + "/hook", [factory.text(ALICE, "hi")]).status_code == 200
    finally:
        running.stop()
    body, signature = received[0]
    assert json.loads(body)["destination"] == SHOP_ID
    assert signature == sign(SHOP_SECRET, body)
    assert SignatureValidator(SHOP_SECRET).validate(body.decode(), signature)
    assert not SignatureValidator(SECRET).validate(body.decode(), signature)
    assert WebhookParser(SHOP_SECRET).parse(body.decode(), signature)[0].message.text == "hi"
    # the default factory still targets the default channel
    assert WebhookFactory(emulator).destination == emulator.bot_user_id


def test_webhook_endpoint_set_get_and_test(shop_api: MessagingApi, main_api: MessagingApi,
                                           emulator: LineEmulator) -> None:
    received: list[tuple[bytes, str]] = []
    receiver = flask.Flask("receiver")

    @receiver.post("/callback")
    def callback() -> tuple[str, int]:
        received.append((flask.request.get_data(), flask.request.headers["X-Line-Signature"]))
        return "OK", 200 if len(received) == 1 else 500

    running = serve_in_thread(receiver)
    try:
        with pytest.raises(ApiException) as err:
            shop_api.get_webhook_endpoint()
        assert err.value.status == 404
        shop_api.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint=running.url + "/callback"))
        info = shop_api.get_webhook_endpoint()
        assert (info.endpoint, info.active) == (running.url + "/callback", True)
        result = shop_api.test_webhook_endpoint(WebhookTestRequest())
        assert (result.success, result.status_code, result.reason, result.detail) == (True, 200, "OK", "200")
        failed = shop_api.test_webhook_endpoint(WebhookTestRequest())
        assert (failed.success, failed.status_code, failed.reason) == (False, 500, "ERROR_STATUS_CODE")
    finally:
        running.stop()
    body, signature = received[0]
    assert json.loads(body) == {"destination": SHOP_ID, "events": []}
    assert signature == sign(SHOP_SECRET, body)
    gone = main_api.test_webhook_endpoint(WebhookTestRequest(endpoint=running.url + "/callback"))
    assert (gone.success, gone.status_code, gone.reason) == (False, 0, "COULD_NOT_CONNECT")


def test_channels_control_endpoint(server: RunningServer, emulator: LineEmulator) -> None:
    listed = requests.post(server.url + "/_emulator/channels", timeout=5, json={
        "bot_user_id": "U" + "7" * 32, "channel_secret": "s7", "access_token": "t7"}).json()
    assert [c["bot_user_id"] for c in listed][-1] == "U" + "7" * 32
    assert _api(server, "t7").get_bot_info().user_id == "U" + "7" * 32
