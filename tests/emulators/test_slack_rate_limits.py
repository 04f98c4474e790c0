"""Slack-like rate limits of the Slack emulator (off by default), driven through the real
slack_sdk.WebClient. A fake clock is injected, so nothing here sleeps or depends on timing."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.server import RunningServer, serve_in_thread
from emulators.slack_api import SlackEmulator

CHANNEL = "C0SUPPORT"
OTHER = "C0OTHER"


class FakeClock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[tuple[SlackEmulator, RunningServer]]:
    emu = SlackEmulator()
    server = serve_in_thread(emu.app)
    emu.url = server.url
    yield emu, server
    server.stop()


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def emu(emulator_server: tuple[SlackEmulator, RunningServer], clock: FakeClock) -> SlackEmulator:
    emulator, _server = emulator_server
    emulator.reset()
    emulator.clock = clock
    emulator.add_channel(CHANNEL, "support")
    emulator.add_channel(OTHER, "other")
    return emulator


@pytest.fixture()
def client(emu: SlackEmulator) -> WebClient:
    assert emu.url
    return WebClient(token=emu.bot_token, base_url=emu.url + "/api/", timeout=5)


def _refused(fn, **kwargs) -> SlackApiError:
    with pytest.raises(SlackApiError) as exc:
        fn(**kwargs)
    return exc.value


def test_off_by_default_but_counted(client: WebClient, emu: SlackEmulator) -> None:
    for i in range(12):
        client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
    assert len(emu.messages(CHANNEL)) == 12
    stats = emu.rate_stats()["chat.postMessage"]
    assert stats["allowed"] == 12 and stats["refused"] == 0
    assert emu.rate_limits()["enabled"] is False


def test_post_burst_then_429_without_effect(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_rate_limits()  # Slack's defaults: 1/s per channel, burst 5
    for i in range(5):
        client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
    err = _refused(client.chat_postMessage, channel=CHANNEL, text="too fast")
    assert err.response.status_code == 429
    assert err.response["error"] == "ratelimited" and err.response["ok"] is False
    assert err.response.headers["Retry-After"] == "1"
    assert [m["text"] for m in emu.messages(CHANNEL)] == [f"m{i}" for i in range(5)]
    last = emu.calls_for("chat.postMessage")[-1]
    assert last.status == 429 and any(e.startswith("rate limited") for e in last.errors)
    assert emu.rate_stats()["chat.postMessage"]["refused"] == 1


def test_retry_after_is_rounded_up(client: WebClient, emu: SlackEmulator, clock: FakeClock) -> None:
    emu.set_rate_limits(post_per_channel=(0.25, 2))  # one token every 4 s
    client.chat_postMessage(channel=CHANNEL, text="a")
    client.chat_postMessage(channel=CHANNEL, text="b")
    assert _refused(client.chat_postMessage, channel=CHANNEL, text="x").response.headers["Retry-After"] == "4"
    clock.advance(1.5)  # 2.5 s left -> 3
    assert _refused(client.chat_postMessage, channel=CHANNEL, text="x").response.headers["Retry-After"] == "3"
    clock.advance(2.4)  # 0.1 s left -> at least 1
    assert _refused(client.chat_postMessage, channel=CHANNEL, text="x").response.headers["Retry-After"] == "1"
    clock.advance(0.1)
    client.chat_postMessage(channel=CHANNEL, text="c")
    assert [m["text"] for m in emu.messages(CHANNEL)] == ["a", "b", "c"]


def test_bucket_refills_over_time_up_to_burst(client: WebClient, emu: SlackEmulator, clock: FakeClock) -> None:
    emu.set_rate_limits()
    for _ in range(5):
        client.chat_postMessage(channel=CHANNEL, text="x")
    _refused(client.chat_postMessage, channel=CHANNEL, text="x")
    clock.advance(1.0)
    client.chat_postMessage(channel=CHANNEL, text="x")  # one token refilled
    _refused(client.chat_postMessage, channel=CHANNEL, text="x")
    clock.advance(60.0)  # refills to the burst (5), not 60
    for _ in range(5):
        client.chat_postMessage(channel=CHANNEL, text="x")
    _refused(client.chat_postMessage, channel=CHANNEL, text="x")
    assert emu.rate_stats()["chat.postMessage"]["allowed"] == 11


def test_independent_buckets_per_channel_and_method(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_rate_limits(post_per_channel=(1, 1), update=(1, 2), reactions=(1, 1))
    first = client.chat_postMessage(channel=CHANNEL, text="v1")
    _refused(client.chat_postMessage, channel=CHANNEL, text="x")
    # another channel, and a channel given by name, have their own buckets
    client.chat_postMessage(channel=OTHER, text="other")
    assert _refused(client.chat_postMessage, channel="#other", text="x").response.status_code == 429
    # chat.update has its own (workspace) bucket
    client.chat_update(channel=CHANNEL, ts=first["ts"], text="v2")
    client.chat_update(channel=OTHER, ts=emu.messages(OTHER)[0]["ts"], text="other v2")
    assert _refused(client.chat_update, channel=CHANNEL, ts=first["ts"], text="v3").response.status_code == 429
    assert emu.message(CHANNEL, first["ts"])["text"] == "v2"  # type: ignore[index]
    # reactions.add and reactions.remove share one bucket, separate from chat.*
    client.reactions_add(channel=CHANNEL, timestamp=first["ts"], name="eyes")
    _refused(client.reactions_remove, channel=CHANNEL, timestamp=first["ts"], name="eyes")
    assert emu.reactions(CHANNEL, first["ts"]) == {"eyes": ["UBOT"]}
    stats = emu.rate_stats()
    assert stats["chat.postMessage"]["per_channel"] == {CHANNEL: {"allowed": 1, "refused": 1},
                                                        OTHER: {"allowed": 1, "refused": 1}}
    assert (stats["chat.update"]["allowed"], stats["chat.update"]["refused"]) == (2, 1)
    assert stats["reactions.remove"] == {"allowed": 0, "refused": 1, "refused_pct": 100.0}
    # other methods are never limited
    for _ in range(5):
        client.conversations_history(channel=CHANNEL)


def test_refused_post_to_user_id_creates_no_dm(client: WebClient, emu: SlackEmulator) -> None:
    emu.add_user("U0HUMAN", "taro")
    emu.set_rate_limits(post_per_channel=(1, 1))
    client.chat_postMessage(channel=OTHER, text="x")
    client.chat_postMessage(channel="U0HUMAN", text="hi")  # DM "D0HUMAN"
    _refused(client.chat_postMessage, channel="U0HUMAN", text="again")
    assert [m["text"] for m in emu.messages("D0HUMAN")] == ["hi"]


def test_allowed_capacity_for_benchmarks(client: WebClient, emu: SlackEmulator, clock: FakeClock) -> None:
    emu.set_rate_limits(post_per_channel=(1, 5), update=(0.5, 10))
    start = clock()
    for _ in range(3):
        client.chat_postMessage(channel=CHANNEL, text="x")
        client.chat_postMessage(channel=OTHER, text="y")
        clock.advance(5.0)
    # explicit window: burst + rate * seconds
    assert emu.allowed_capacity("chat.postMessage", CHANNEL, since=start, until=start + 10) == 15
    assert emu.allowed_capacity("chat.update", since=start, until=start + 7) == 13
    # default window: first..last call (10 s here), summed over channels when channel is None
    assert emu.allowed_capacity("chat.postMessage", CHANNEL) == 15
    assert emu.allowed_capacity("chat.postMessage") == 30
    assert emu.allowed_capacity("chat.update") == 0  # never called
    with pytest.raises(ValueError):
        emu.allowed_capacity("users.info")


def test_rate_limit_control_endpoint(client: WebClient, emu: SlackEmulator) -> None:
    r = requests.post(f"{emu.url}/_emulator/rate_limits", json={"post_per_channel": [1, 2]}, timeout=5)
    assert r.ok and r.json()["limits"]["post_per_channel"] == {"rate": 1.0, "burst": 2.0}
    client.chat_postMessage(channel=CHANNEL, text="a")
    client.chat_postMessage(channel=CHANNEL, text="b")
    _refused(client.chat_postMessage, channel=CHANNEL, text="c")
    got = requests.get(f"{emu.url}/_emulator/rate_limits", timeout=5).json()
    assert got["limits"]["enabled"] is True
    assert got["stats"]["chat.postMessage"]["allowed"] == 2 and got["stats"]["chat.postMessage"]["refused"] == 1
    assert got["capacity"]["chat.postMessage"] == 2  # all calls at the same fake instant: the burst
    bad = requests.post(f"{emu.url}/_emulator/rate_limits", json={"update": [0, 1]}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{emu.url}/_emulator/rate_limits", json={"enabled": False}, timeout=5).ok
    client.chat_postMessage(channel=CHANNEL, text="d")
