"""The forwarding target ("another LINE tool"): recording, signature check, faults."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from linebot.v3.webhook import SignatureValidator

from emulators.forward_target import ForwardTarget, line_signature
from emulators.line_webhooks import WebhookFactory, send_webhook, sign
from emulators.server import RunningServer, serve_in_thread

SECRET = "forward-secret"
ALICE = "U" + "a1" * 16


@pytest.fixture(scope="module")
def target() -> ForwardTarget:
    return ForwardTarget(channel_secret=SECRET)


@pytest.fixture(scope="module")
def server(target: ForwardTarget) -> Iterator[RunningServer]:
    running = serve_in_thread(target.app)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(target: ForwardTarget) -> None:
    target.reset()


def _webhook_body() -> bytes:
    factory = WebhookFactory(destination="U" + "0" * 32, channel_secret=SECRET)
    return factory.body([factory.text(ALICE, "こんにちは 👋")])


def test_line_signature_matches_the_sdk() -> None:
    body = _webhook_body()
    assert line_signature(SECRET, body) == sign(SECRET, body)
    assert SignatureValidator(SECRET).validate(body.decode(), line_signature(SECRET, body))


def test_records_raw_body_headers_time_and_signature(server: RunningServer, target: ForwardTarget) -> None:
    body = _webhook_body()
    before = time.time()
    assert send_webhook(server.url + "/line/callback", SECRET, body).status_code == 200
    resp = requests.post(server.url + "/other?x=1", data=b"\x00raw", timeout=5,
                         headers={"X-Line-Signature": "forged", "X-Custom": "yes"})
    assert resp.status_code == 200 and resp.text == "OK"
    first, second = target.received()
    assert first.path == "/line/callback" and first.body == body  # byte for byte
    assert first.header("x-line-signature") == sign(SECRET, body)
    assert first.header("Content-Type") == "application/json; charset=utf-8"
    assert first.header("User-Agent") == "LineBotWebhook/2.0"
    assert first.signature_valid is True and first.status == 200
    assert before <= first.time <= second.time <= time.time()
    assert first.json()["events"][0]["message"]["text"] == "こんにちは 👋"
    assert second.signature_valid is False and second.body == b"\x00raw"
    assert second.headers["X-Custom"] == "yes" and second.query_string == "x=1"
    assert [r.path for r in target.received("/other")] == ["/other"]


def test_signature_checked_on_the_raw_bytes(server: RunningServer, target: ForwardTarget) -> None:
    body = _webhook_body()
    reformatted = body.replace(b",", b", ")  # same JSON, other bytes: signature no longer valid
    send_webhook(server.url + "/cb", SECRET, reformatted, signature=sign(SECRET, body))
    send_webhook(server.url + "/cb", "another-secret", body)
    requests.post(server.url + "/cb", data=body, timeout=5)  # no signature header at all
    assert [r.signature_valid for r in target.received()] == [False, False, False]
    unchecked = ForwardTarget()
    with unchecked.app.test_client() as client:
        client.post("/cb", data=body)
    assert unchecked.received()[0].signature_valid is None


def test_fail_next(server: RunningServer, target: ForwardTarget) -> None:
    target.fail_next(2, status=502)
    statuses = [requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert [r.status for r in target.received()] == [502, 502, 200]
    target.fail_next()
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 500


def test_delay_next_makes_the_sender_time_out(server: RunningServer, target: ForwardTarget) -> None:
    target.delay_next(1, 1.0)
    with pytest.raises(requests.Timeout):
        requests.post(server.url + "/slow", data=b"{}", timeout=0.2)
    assert target.wait_for(1, timeout=5)  # recorded on arrival
    assert requests.post(server.url + "/fast", data=b"{}", timeout=5).status_code == 200
    slow = target.received("/slow")[0]
    assert slow.faults == ["delay 1.0s"]
    deadline = time.monotonic() + 5
    while slow.status == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow.status == 200


def test_down_and_up(server: RunningServer, target: ForwardTarget) -> None:
    target.down()
    assert target.is_down
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 503
    target.up()
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 200
    target.down(30)
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 503
    target.down(0.2)
    time.sleep(0.4)
    assert not target.is_down
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 200
    assert [r.status for r in target.received()] == [503, 200, 503, 200]


def test_down_takes_precedence_and_keeps_fail_next(server: RunningServer, target: ForwardTarget) -> None:
    target.fail_next(1, status=500)
    target.down()
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 503
    target.up()
    assert requests.post(server.url + "/cb", data=b"{}", timeout=5).status_code == 500


def test_wait_for_blocks_until_arrival(server: RunningServer, target: ForwardTarget) -> None:
    assert target.wait_for(1, timeout=0.05) is False
    timer = threading.Timer(0.1, lambda: requests.post(server.url + "/late", data=b"{}", timeout=5))
    timer.start()
    try:
        assert target.wait_for(1, timeout=5, path="/late")
    finally:
        timer.join()
    assert target.wait_for(2, timeout=0.05) is False


def test_other_methods_are_not_recorded(server: RunningServer, target: ForwardTarget) -> None:
    assert requests.get(server.url + "/cb", timeout=5).status_code == 405
    assert target.received() == []
