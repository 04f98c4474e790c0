"""The shared Slack rate limiter (bridge.slack.ratelimit) on a real Redis, with an injected clock."""
from __future__ import annotations

import uuid

import pytest
import redis

from bridge.keys import Keys
from bridge.model import RetryLater
from bridge.slack.ratelimit import POST, REACTIONS, UPDATE, Limit, SlackRateLimiter, limits_from_env

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def env(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys("rl" + uuid.uuid4().hex[:8])
    clock = Clock()
    limits = {POST: Limit(1.0, 5.0), UPDATE: Limit(0.5, 2.0), REACTIONS: Limit(0.5, 2.0)}

    def make(**kw) -> SlackRateLimiter:
        return SlackRateLimiter(r, keys, limits, clock=clock, **kw)
    try:
        yield make, clock
    finally:
        for key in r.scan_iter(match=keys.pattern()):
            r.delete(key)
        r.close()


def test_burst_then_one_per_second_short_waits_are_slept(env):
    make, clock = env
    lim = make(max_sleep=1.5)
    assert [lim.acquire(POST, "C1", f"m{i}") for i in range(5)] == [(True, 0.0)] * 5  # the burst
    assert lim.acquire(POST, "C1", "m5") == (True, pytest.approx(1.0))   # sleep 1 s, then call
    granted, wait = lim.acquire(POST, "C1", "m6")
    assert not granted and wait == pytest.approx(2.0)                     # too long: come back
    clock.now += 10  # a quiet spell refills the burst (but the ticket of m6 is still its own)
    assert [lim.acquire(POST, "C1", f"n{i}") for i in range(6)] == [(True, 0.0)] * 5 + [(True, pytest.approx(1.0))]


def test_waiting_callers_get_distinct_turns_in_the_order_they_asked(env):
    make, clock = env
    lim = make(max_sleep=0.5)
    for i in range(5):
        lim.acquire(POST, "C1", f"burst{i}")
    turns = {o: lim.acquire(POST, "C1", o)[1] for o in ("a", "b", "c")}
    assert turns == {"a": pytest.approx(1.0), "b": pytest.approx(2.0), "c": pytest.approx(3.0)}
    # A newcomer cannot jump the line, even when it asks just before a's turn.
    clock.now += 0.9
    assert lim.acquire(POST, "C1", "late")[1] == pytest.approx(4.0 - 0.9)
    # a comes back at its turn: granted at once; asking again is a new request at the back.
    clock.now = T0 + 1.0
    assert lim.acquire(POST, "C1", "a") == (True, 0.0)
    assert lim.acquire(POST, "C1", "a")[1] == pytest.approx(4.0)
    # c comes back a little early: it sleeps the rest of its own turn.
    clock.now = T0 + 2.8
    assert lim.acquire(POST, "C1", "c") == (True, pytest.approx(0.2))


def test_all_workers_share_one_bucket(env):
    make, clock = env
    worker1, worker2 = make(max_sleep=1.5), make(max_sleep=1.5)
    for i in range(5):
        (worker1 if i % 2 else worker2).acquire(POST, "C1", f"m{i}")
    assert worker2.acquire(POST, "C1", "x") == (True, pytest.approx(1.0))
    assert worker1.acquire(POST, "C1", "y")[1] == pytest.approx(2.0)


def test_channels_and_tiers_have_their_own_buckets(env):
    make, clock = env
    lim = make(max_sleep=0.0)
    for i in range(5):
        assert lim.acquire(POST, "C1", f"m{i}")[0]
    assert not lim.acquire(POST, "C1", "m5")[0]
    assert lim.acquire(POST, "C2", "other-channel")[0]
    # chat.update is per workspace: the channel does not matter, and posts don't use it up
    assert lim.acquire(UPDATE, "C1", "u1")[0] and lim.acquire(UPDATE, "C2", "u2")[0]
    assert lim.acquire(UPDATE, "C3", "u3") == (False, pytest.approx(2.0))
    assert lim.acquire(REACTIONS, "C1", "r1")[0]


def test_retry_after_holds_back_every_caller_and_the_refused_one_goes_first(env):
    make, clock = env
    lim, other_worker = make(max_sleep=0.5), make(max_sleep=0.5)
    for i in range(5):
        lim.acquire(POST, "C1", f"m{i}")
    assert lim.acquire(POST, "C1", "waiting")[1] == pytest.approx(1.0)   # ticket for T0 + 1
    clock.now = T0 + 0.2
    assert lim.penalize(POST, "C1", 3, owner="refused") == pytest.approx(3.0)
    # Nobody (no other worker either) gets a call in before the Retry-After has passed ...
    assert other_worker.acquire(POST, "C1", "newcomer") == (False, pytest.approx(5.8))
    clock.now = T0 + 1.0
    granted, wait = other_worker.acquire(POST, "C1", "waiting")
    assert not granted and wait >= 2.2
    # ... the refused caller has the first turn after it, and the line behind it stays one call per second.
    clock.now = T0 + 3.2
    assert lim.acquire(POST, "C1", "refused") == (True, 0.0)
    granted, wait = lim.acquire(POST, "C1", "waiting")
    assert not granted and 1.0 - 1e-6 <= wait <= 2.0
    # Without a burst right after the block: the next newcomer waits behind all of them.
    assert lim.acquire(POST, "C1", "after")[1] >= 3.0 - 1e-6


def test_a_second_429_for_the_same_block_does_not_push_the_line_back_twice(env):
    make, clock = env
    lim = make(max_sleep=0.0)
    lim.penalize(POST, "C1", 2, owner="a")
    lim.penalize(POST, "C1", 2, owner="b")
    assert lim.acquire(POST, "C1", "c")[1] < 5.0


def test_wait_or_raise_sleeps_short_waits_and_hands_back_long_ones(env):
    make, clock = env
    lim = make(max_sleep=1.5)
    slept: list[float] = []
    for i in range(6):
        lim.wait_or_raise(POST, "C1", f"m{i}", sleep=slept.append)
    assert slept == [pytest.approx(1.0)]
    with pytest.raises(RetryLater) as info:
        lim.wait_or_raise(POST, "C1", "m6", sleep=slept.append)
    assert info.value.throttled and info.value.paced
    assert 0 < info.value.delay < 2.0  # come back a little early; the rest is slept then


def test_by_default_a_worker_is_parked_for_a_moment_at_most_and_keeps_its_turn(env):
    """A sleeping worker takes no other job: a wait longer than MAX_SLEEP (0.3 s) is handed back, so a reply
    storm's new chats reach /pending within a second while every post waits for the channel's turn."""
    make, clock = env
    lim = make()
    slept: list[float] = []
    for i in range(5):  # the burst
        lim.wait_or_raise(POST, "C1", f"m{i}", sleep=slept.append)
    with pytest.raises(RetryLater) as info:
        lim.wait_or_raise(POST, "C1", "m5", sleep=slept.append)  # its turn is 1 s away
    assert slept == [] and info.value.paced and info.value.delay == pytest.approx(0.7)
    clock.now += 0.5
    assert not lim.acquire(POST, "C1", "newcomer")[0]  # cannot take m5's turn
    clock.now += info.value.delay - 0.5
    lim.wait_or_raise(POST, "C1", "m5", sleep=slept.append)  # back on time: the rest is slept
    assert slept == [pytest.approx(0.3)]


def test_redis_clock_is_used_without_an_injected_clock(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    lim = SlackRateLimiter(r, Keys("rl" + uuid.uuid4().hex[:8]), {POST: Limit(1.0, 1.0)}, max_sleep=0.0)
    assert lim.acquire(POST, "C1", "a") == (True, 0.0)
    granted, wait = lim.acquire(POST, "C1", "b")
    assert not granted and 0.5 < wait <= 1.0


def test_limits_from_env():
    limits = limits_from_env({"SLACK_RATE_POST": "2,10", "SLACK_RATE_UPDATE": "0.5,3"})
    assert limits[POST] == Limit(2.0, 10.0) and limits[UPDATE] == Limit(0.5, 3.0)
    assert limits[REACTIONS].rate == pytest.approx(50 / 60)
    assert limits_from_env({"SLACK_RATE_LIMITS": "off"}) is None
    with pytest.raises(ValueError, match="SLACK_RATE_POST"):
        limits_from_env({"SLACK_RATE_POST": "fast"})


def test_a_429_during_a_granted_sleep_is_honoured_too(env):
    make, clock = env
    lim, other_worker = make(max_sleep=1.5), make(max_sleep=1.5)
    for i in range(5):
        lim.acquire(POST, "C1", f"m{i}")

    def sleep_while_another_call_is_refused(seconds: float) -> None:
        other_worker.penalize(POST, "C1", 4, owner="refused")
        clock.now += seconds

    with pytest.raises(RetryLater) as info:
        lim.wait_or_raise(POST, "C1", "sleeper", sleep=sleep_while_another_call_is_refused)
    assert info.value.paced
    clock.now = T0 + 4.0
    assert lim.acquire(POST, "C1", "refused") == (True, 0.0)
    granted, wait = lim.acquire(POST, "C1", "sleeper")  # its turn is right behind the refused call
    assert granted and wait == pytest.approx(1.0)


def test_holders_who_come_back_late_together_do_not_burst_past_the_limit(env):
    make, clock = env
    lim = make(max_sleep=0.5)
    for i in range(5):
        lim.acquire(POST, "C1", f"burst{i}")
    for i in range(8):  # eight turns reserved at T0+1 … T0+8
        assert not lim.acquire(POST, "C1", f"late{i}")[0]
    clock.now = T0 + 9.0  # a busy queue: all of them come back only now
    results = [lim.acquire(POST, "C1", f"late{i}") for i in range(8)]
    granted = [r for r in results if r[0]]
    # Calls stay within the burst (5 after ~4 quiet-ish seconds), then one per second; the rest keep their tickets.
    assert 3 <= len(granted) <= 6
    assert all(not ok for ok, _ in results[len(granted):])
    clock.now = T0 + 30.0
    assert all(lim.acquire(POST, "C1", f"late{i}")[0] for i in range(len(granted), 8))


def test_slack_rate_settings_are_read_with_the_others_and_a_bad_one_stops_start_up(bridge_env):
    from bridge.settings import Settings, SettingsError

    assert dict(Settings.from_env({**bridge_env, "SLACK_RATE_POST": "2,10"}).slack_rate_limits)[POST] == Limit(2.0, 10.0)
    assert Settings.from_env({**bridge_env, "SLACK_RATE_LIMITS": "off"}).slack_rate_limits is None
    with pytest.raises(SettingsError, match="SLACK_RATE_POST"):
        Settings.from_env({**bridge_env, "SLACK_RATE_POST": "fast"})
