"""End to end with Slack's rate limits switched on in the emulator (1 post/s per channel, burst 5).

The bridge paces its calls with the shared limiter (bridge.slack.ratelimit), relays waiting
friend messages of one chat as one Slack message (bridge.relay.batch) and honours Retry-After.
"""
from __future__ import annotations

import re

from tests.conftest import HANAKO, TARO, TRIAGE, cid, wait_until

FRIENDS = ["U" + c * 32 for c in "3456"]
TOKEN = re.compile(r"\[m\d+-\d+\]")


def replies(h, thread_ts: str) -> list[dict]:
    return [m for m in h.thread_messages(thread_ts) if m["ts"] != thread_ts]


def shown_texts(h, thread_ts: str) -> list[str]:
    """The parent's section of first messages (a new chat costs one post), then each reply's text."""
    blocks = (h.slack.message(TRIAGE, thread_ts) or {}).get("blocks") or []
    first = [blocks[1]["text"]["text"]] if len(blocks) > 1 and blocks[1]["type"] == "section" else []
    return first + [m.get("text") or "" for m in replies(h, thread_ts)]


def tokens_in_thread(h, line_id: str) -> list[str]:
    conv = h.conv(line_id)
    if conv is None or not conv.thread_ts:
        return []
    return [t for text in shown_texts(h, conv.thread_ts) for t in TOKEN.findall(text)]


def test_a_burst_from_several_friends_is_all_delivered_in_order_with_few_429s(h):
    h.slack.set_rate_limits(post_per_channel=(1, 5))
    for i, friend in enumerate(FRIENDS):
        h.line.add_user(friend, f"Friend {i}")
    expected = {}
    for n in range(4):  # 4 messages from each of 4 new friends, as fast as webhooks go
        for i, friend in enumerate(FRIENDS):
            token = f"[m{i}-{n}]"
            expected.setdefault(friend, []).append(token)
            h.friend_says(friend, f"こんにちは {token}")
    assert wait_until(lambda: all(tokens_in_thread(h, f) == expected[f] for f in FRIENDS), timeout=90), \
        {f: tokens_in_thread(h, f) for f in FRIENDS}
    posts = h.slack.calls_for("chat.postMessage")
    refused = [c for c in posts if c.status == 429]
    assert len(refused) <= 1, f"{len(refused)} of {len(posts)} posts refused"
    # 4 thread parents carrying the first messages + the rest in fewer posts than messages:
    # waiting ones went out together
    assert len(posts) - len(refused) < 16


def test_waiting_messages_go_out_as_one_slack_message_and_each_stays_mapped(h):
    h.slack.set_rate_limits(post_per_channel=(1, 5))
    h.friend_says(HANAKO, "はじめまして")  # the thread exists (a new chat's first messages: its parent)
    h.thread_of(HANAKO, timeout=20)
    # Slack refuses the next post: meanwhile all three messages are waiting.
    h.slack.fail_next("chat.postMessage", 429, retry_after=2)
    events = [h.webhooks.text(HANAKO, text) for text in ("一つ目", "二つ目 <b>", "三つ目")]
    assert h.send_line(*events).status_code == 200
    thread = h.thread_of(HANAKO, timeout=20)
    assert wait_until(lambda: replies(h, thread), timeout=20)
    assert wait_until(lambda: not h.store.r.llen(h.store.keys.inbox(stream=f"line-{cid(HANAKO)}")), timeout=10)
    [reply] = replies(h, thread)
    lines = reply["text"].split("\n")
    assert [line.split("  ", 1)[1] for line in lines] == ["一つ目", "二つ目 &lt;b&gt;", "三つ目"]
    for line, event in zip(lines, events):  # each message shows its own time (Slack renders it locally)
        assert line.startswith(f"<!date^{event['timestamp'] // 1000}^{{time_secs}}|")
    for event in events:  # quotes, unsend and edits find the Slack message of every LINE message
        assert h.store.get_line_message("default", event["message"]["id"])["slack_ts"] == reply["ts"]
    record = h.store.get_slack_message(TRIAGE, reply["ts"])
    assert record["line_message_ids"].split(",") == [e["message"]["id"] for e in events]
    assert h.conv(HANAKO).last_message_preview == "三つ目"


def test_a_retry_after_from_slack_is_honoured_by_every_worker(h):
    h.line.add_user(FRIENDS[0], "Friend 0")
    h.friend_says(HANAKO, "スレッド1")
    h.friend_says(TARO, "スレッド2")
    threads = [h.thread_of(HANAKO), h.thread_of(TARO)]
    h.slack.fail_next("chat.postMessage", 429, retry_after=3)
    for n in range(3):  # three streams want to post at once, on both workers
        h.friend_says(HANAKO, f"混雑 {n}")
        h.friend_says(TARO, f"混雑 {n}")
        h.friend_says(FRIENDS[0], f"混雑 {n}")
    def all_relayed() -> bool:
        texts = [text for t in threads + [h.thread_of(FRIENDS[0], timeout=60)] for text in shown_texts(h, t)]
        return all(sum(f"混雑 {n}" in text for text in texts) == 3 for n in range(3))
    assert wait_until(all_relayed, timeout=60)
    posts = h.slack.calls_for("chat.postMessage")
    refused = next(c for c in posts if c.status == 429)
    # Only calls already on the wire when Slack answered 429 may follow it; nothing else before Retry-After.
    early = [c for c in posts if refused.time + 0.3 < c.time < refused.time + 3.0]
    assert early == [], [(round(c.time - refused.time, 2), c.status) for c in early]
    assert all(c.status == 200 for c in posts if c.time > refused.time + 3.0)


def test_a_paced_parent_searches_slack_once_when_its_turn_comes_not_on_every_return(h, store):
    """A parent whose earlier attempt may have posted searches the channel first; a post told to come back
    later (paced) sent nothing, so the search waits for the post's turn: one conversations.history call, not
    one per return (on a campaign day those searches would eat the history tier and slow Slack down)."""
    import time
    import uuid

    import pytest

    from bridge.keys import Keys
    from bridge.model import RetryLater
    from bridge.slack.gateway import SlackGateway
    from bridge.slack.ratelimit import POST, Limit, SlackRateLimiter

    now = [1_800_000_000.0]
    limiter = SlackRateLimiter(store.r, Keys("rl" + uuid.uuid4().hex[:8]), {POST: Limit(1.0, 1.0)}, clock=lambda: now[0])
    gateway = SlackGateway(h.settings, store, limiter=limiter)
    key = f"parent-test-{uuid.uuid4().hex[:8]}"
    searches = len(h.slack.calls_for("conversations.history"))
    gateway.post_once(f"other-{key}", TRIAGE, "another chat's post takes the channel's turn")
    for _ in range(3):  # the worker comes back before the turn, three times
        with pytest.raises(RetryLater):
            gateway.post_once(key, TRIAGE, "親メッセージ", maybe_posted_since=time.time() - 5)
    assert len(h.slack.calls_for("conversations.history")) == searches
    now[0] += 1.0
    ts = gateway.post_once(key, TRIAGE, "親メッセージ", maybe_posted_since=time.time() - 5)
    assert len(h.slack.calls_for("conversations.history")) == searches + 1
    assert [m["ts"] for m in h.slack.messages(TRIAGE) if m.get("text") == "親メッセージ"] == [ts]


def test_a_new_parent_told_to_wait_for_its_turn_posts_without_searching_when_it_comes_back(h, store):
    """The attempt that created the conversation was told to come back for its turn and sent nothing:
    its return (which no longer knows it created the conversation) posts without a conversations.history
    search — a campaign day's hundred new parents would otherwise spend a hundred Tier 3 calls."""
    import time
    import uuid

    import pytest

    from bridge.keys import Keys
    from bridge.model import RetryLater
    from bridge.slack.gateway import SlackGateway
    from bridge.slack.ratelimit import POST, Limit, SlackRateLimiter

    now = [1_800_000_000.0]
    limiter = SlackRateLimiter(store.r, Keys("rl" + uuid.uuid4().hex[:8]), {POST: Limit(1.0, 1.0)}, clock=lambda: now[0])
    gateway = SlackGateway(h.settings, store, limiter=limiter)
    key = f"parent-new-{uuid.uuid4().hex[:8]}"
    searches = len(h.slack.calls_for("conversations.history"))
    gateway.post_once(f"other-{key}", TRIAGE, "another chat's post takes the channel's turn")
    with pytest.raises(RetryLater):
        gateway.post_once(key, TRIAGE, "新しい親メッセージ")           # the attempt that created the conversation
    now[0] += 1.0
    ts = gateway.post_once(key, TRIAGE, "新しい親メッセージ", maybe_posted_since=time.time() - 5)  # its return
    assert len(h.slack.calls_for("conversations.history")) == searches
    assert [m["ts"] for m in h.slack.messages(TRIAGE) if m.get("text") == "新しい親メッセージ"] == [ts]
