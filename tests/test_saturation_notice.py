"""The saturation notice: when Slack's post limit holds many chats back, the channel is told once.

A campaign brings more new chats than Slack's one post per second per channel can show. The
team gets one line in the triage channel (how many conversations wait to be shown, and that
/pending already lists them), posted before the waiting chats rather than after them, and it
turns into 「✅ 追いつきました」 once every chat is shown.
"""
from __future__ import annotations

from tests.conftest import TRIAGE, wait_until

FRIENDS = ["U" + format(0xB000 + i, "x").rjust(32, "0") for i in range(30)]


def notices(h) -> list[dict]:
    return [m for m in h.slack.messages(TRIAGE) if "投稿上限" in (m.get("text") or "") or "追いつきました" in (m.get("text") or "")]


def test_a_saturated_channel_is_told_once_and_the_notice_clears_when_caught_up(h):
    for i, friend in enumerate(FRIENDS):
        h.line.add_user(friend, f"新規{i}")
    h.slack.set_rate_limits(post_per_channel=(1, 5))
    assert h.send_line(*[h.webhooks.text(f, f"はじめまして {i}") for i, f in enumerate(FRIENDS)]).status_code == 200
    assert wait_until(lambda: notices(h), timeout=30)
    (notice,) = notices(h)
    assert "⏳" in notice["text"] and "/pending" in notice["text"] and "件の会話が表示待ち" in notice["text"]
    shown_before = [m for m in h.slack.messages(TRIAGE) if m["ts"] < notice["ts"] and m is not notice]
    assert len(shown_before) < len(FRIENDS) - 10  # told while most chats still waited, not after
    assert wait_until(lambda: all(h.conv(f) and h.conv(f).thread_ts for f in FRIENDS), timeout=90)
    assert wait_until(lambda: "追いつきました" in notices(h)[0]["text"], timeout=20), notices(h)
    h.settle(timeout=30)
    assert len(notices(h)) == 1  # one line, changed in place
    posts = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 200]
    assert len(posts) == len(FRIENDS) + 1  # one post per new chat, one for the notice
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) <= 1


def test_the_notice_goes_before_the_waiting_posts_and_everyone_keeps_their_turn(redis_url):
    """SlackRateLimiter.jump (real Redis, injected clock): the notice takes the next call slot and every
    reserved turn moves back by one interval, so the rate holds and the order of the line is kept."""
    import uuid

    import redis

    from bridge.keys import Keys
    from bridge.slack.ratelimit import POST, Limit, SlackRateLimiter

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys("jl" + uuid.uuid4().hex[:8])
    now = [1_800_000_000.0]
    lim = SlackRateLimiter(r, keys, {POST: Limit(1.0, 1.0)}, clock=lambda: now[0], max_sleep=0.5)
    try:
        assert lim.acquire(POST, "C1", "a") == (True, 0.0)
        turns = [lim.acquire(POST, "C1", owner) for owner in ("b", "c", "d")]  # tickets at +1, +2, +3
        assert [granted for granted, _ in turns] == [False] * 3
        slept: list[float] = []
        lim.jump(POST, "C1", sleep=slept.append)
        assert slept == [1.0]  # the next call slot (a called just now), ahead of b, c and d
        now[0] += 1.0
        assert lim.acquire(POST, "C1", "b")[0] is False  # b's turn moved back by one interval …
        now[0] += 1.0
        assert lim.acquire(POST, "C1", "b") == (True, 0.0)  # … and it still goes before c
        assert lim.acquire(POST, "C1", "c")[0] is False
        now[0] += 1.0
        assert lim.acquire(POST, "C1", "c") == (True, 0.0)
    finally:
        for key in r.scan_iter(match=keys.pattern()):
            r.delete(key)
        r.close()
