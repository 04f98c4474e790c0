"""Quiet follows: a new friend is not a chat to answer.

With ``follow = "quiet"`` (the default, and the test bridge's setting) a follow of someone
without a thread makes no Slack call at all and no /pending entry; it is counted in App Home
and /stats, and shown on the parent once the friend writes (友だち追加: 3日前, or ブロック解除
for an unblock). An unfollow of a friend who never wrote creates nothing either.
``follow = "thread"`` keeps the old behaviour: a thread and a 要対応 entry per follow.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from bridge.accounts import default_account_from_env
from bridge.config import ConfigSource
from bridge.config.accounts import parse_accounts
from tests.conftest import HANAKO, STAFF, TARO, TRIAGE, _seed, wait_until
from tests.helpers import InProcess
from tests.test_automation import FRIDAY_EVENING, friend_says_at, replies_to, set_now, settle
from tests.test_home import home_of, open_home, stats


def parent_of(slack, thread: str) -> str:
    return json.dumps(slack.message(TRIAGE, thread).get("blocks"), ensure_ascii=False)


def pending(h, text: str = "") -> str:
    resp = h.slack_sender.command("/pending", text, user_id=STAFF, channel_id=TRIAGE)
    assert resp.status_code == 200
    return json.dumps(resp.json(), ensure_ascii=False)


def slack_calls_since(h, before: int) -> list:
    """Slack calls made since ``before``, except a parent refresh of an earlier test's conversation
    that a worker may still be finishing (the strict "no call at all" is asserted in process)."""
    return [c for c in h.slack.calls[before:] if c.method != "chat.update"]


def days_ago(days: float) -> int:
    return int((time.time() - days * 86400) * 1000)


# -- end to end: the web tier, the workers, the Slack emulator's record of every call ----------------
def test_a_quiet_follow_makes_no_slack_call_and_no_pending_entry_but_counts(h):
    before = len(h.slack.calls)
    assert h.send_line(h.webhooks.follow(HANAKO), h.webhooks.follow(TARO, is_unblocked=True)).status_code == 200
    settle(h)
    assert slack_calls_since(h, before) == []      # no thread, no parent, not even a lookup
    assert h.slack.messages(TRIAGE) == []
    assert "山田 花子" not in pending(h) and "Taro" not in pending(h)
    assert h.conv(HANAKO) is None                  # no conversation: nothing in 要対応
    # App Home and /stats count the new friends (one came back after blocking the account)
    open_home(h)
    assert wait_until(lambda: "今日の友だち追加: 2" in home_of(h, STAFF), timeout=20)
    assert "ブロック解除 1" in home_of(h, STAFF)
    assert "友だち追加*  2人（うちブロック解除 1人）" in stats(h)


def test_the_friend_who_writes_later_gets_one_thread_showing_since_when_they_are_a_friend(h):
    follow = h.webhooks.follow(HANAKO)
    follow["timestamp"] = days_ago(2.5)           # within the webhook's replay window (3 days)
    assert h.send_line(follow).status_code == 200
    settle(h)
    assert h.slack.messages(TRIAGE) == []
    h.friend_says(HANAKO, "キャンペーンの件で質問です")
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: "友だち追加: 2日12時間前" in parent_of(h.slack, thread))
    assert [m["ts"] for m in h.slack.messages(TRIAGE)] == [thread]   # one thread, started by the message
    assert "キャンペーンの件で質問です" in pending(h)


def test_a_follow_in_closed_hours_gets_no_auto_reply_and_leaves_it_to_the_first_message(h):
    """LINE's greeting message answers a follow: the closed-hours auto-reply waits for a real message."""
    set_now(h, FRIDAY_EVENING)
    follow = h.webhooks.follow(HANAKO)
    follow["timestamp"] = int(FRIDAY_EVENING * 1000)
    before = len(h.slack.calls)
    assert h.send_line(follow).status_code == 200
    settle(h)
    assert replies_to(h, HANAKO) == [] and slack_calls_since(h, before) == []
    friend_says_at(h, HANAKO, "こんばんは", FRIDAY_EVENING + 60)
    assert h.line.wait_for(lambda emu: replies_to(h, HANAKO))
    assert "11月24日(火) 10:00" in replies_to(h, HANAKO)[0]
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: "友だち追加: たった今" in parent_of(h.slack, thread))   # (the test clock stands still)


# -- in process ---------------------------------------------------------------------------------------
def test_unfollow_of_a_friend_who_never_wrote_creates_nothing_and_the_refollow_is_an_unblock(ip):
    start = len(ip.slack.calls)
    ip.line_event(ip.webhooks.follow(TARO))
    ip.line_event(ip.webhooks.unfollow(TARO))
    assert ip.slack.calls[start:] == [] and ip.conv(TARO) is None
    # LINE may say isUnblocked=false after all: the recorded block says it is an unblock
    ip.line_event(ip.webhooks.follow(TARO))
    assert ip.slack.calls[start:] == [] and ip.conv(TARO) is None
    ip.friend_says(TARO, "また来ました")
    thread = ip.conv(TARO).thread_ts
    parent = parent_of(ip.slack, thread)
    assert "ブロック解除: たった今" in parent and "友だち追加" not in parent and "ブロック中" not in parent


def test_a_friend_with_a_thread_still_sees_block_and_unblock_in_it(ip):
    ip.friend_says(HANAKO, "予約したいです")
    thread = ip.conv(HANAKO).thread_ts
    ip.line_event(ip.webhooks.unfollow(HANAKO))
    assert ip.conv(HANAKO).blocked and "ブロック中" in parent_of(ip.slack, thread)
    ip.line_event(ip.webhooks.follow(HANAKO, is_unblocked=True))
    texts = [m["text"] for m in ip.slack.messages(TRIAGE, thread)]
    assert any("ブロックされました" in t for t in texts) and any("ブロック解除" in t for t in texts)
    assert not ip.conv(HANAKO).blocked
    assert "ブロック解除: たった今" in parent_of(ip.slack, thread)


def test_the_parent_says_friend_since_in_english_too(ip):
    follow = ip.webhooks.follow(HANAKO)
    follow["timestamp"] = days_ago(3.1)
    ip.line_event(follow)
    ip.friend_says(HANAKO, "hello")
    assert "友だち追加: 3日前" in parent_of(ip.slack, ip.conv(HANAKO).thread_ts)
    portals = ip.domain.portals
    portals.lang = "en"   # the bridge's language (BRIDGE_LANGUAGE), for this render only
    _, blocks = portals.render_parent(ip.conv(HANAKO))
    assert "Friend since: 3 days ago" in json.dumps(blocks, ensure_ascii=False)


@pytest.fixture()
def ip_thread(settings, line_emu, slack_emu):
    """The in-process domain of a bridge whose account opens a thread for every follow."""
    from bridge import clock

    installed = (clock._redis, clock._key)
    _seed(line_emu, slack_emu)
    line_emu.add_user(HANAKO, "山田 花子", picture_url="https://profile.line-scdn.net/hanako")
    threaded = replace(settings, accounts=tuple(replace(a, follow="thread") for a in settings.accounts))
    yield InProcess(threaded, line_emu, slack_emu)
    clock._redis, clock._key = installed


def test_thread_mode_opens_a_thread_and_a_pending_entry_for_every_follow(ip_thread):
    ip = ip_thread
    ip.line_event(ip.webhooks.follow(HANAKO))
    conv = ip.conv(HANAKO)
    assert conv is not None and conv.thread_ts
    assert [m["ts"] for m in ip.slack.messages(TRIAGE)] == [conv.thread_ts]
    assert any("友だち追加されました" in m["text"] for m in ip.slack.messages(TRIAGE, conv.thread_ts))
    assert ip.domain.services.backlog.query(accounts=["default"]).total == 1      # 要対応, as before
    assert "友だち追加: たった今" in parent_of(ip.slack, conv.thread_ts)
    rep = ip.domain.automation.stats.report(["default"], 7)
    assert rep.follows == 1 and rep.unblocked == 0                               # counted in both modes


# -- configuration ----------------------------------------------------------------------------------
def test_follow_mode_is_read_per_account_and_checked():
    env = {"A_SECRET": "s", "A_TOKEN": "t"}
    text = ('[[accounts]]\nkey = "a"\nchannel = "C0A"\nsecret_env = "A_SECRET"\ntoken_env = "A_TOKEN"\nfollow = "thread"\n'
            '[[accounts]]\nkey = "b"\nchannel = "C0B"\nsecret_env = "A_SECRET"\ntoken_env = "A_TOKEN"\n')
    problems: list[str] = []
    a, b = parse_accounts(ConfigSource.parse(text, "bridge.toml"), env, problems)
    assert problems == [] and (a.follow, a.quiet_follows) == ("thread", False) and b.quiet_follows
    problems = []
    assert parse_accounts(ConfigSource.parse(text.replace('"thread"', '"loud"'), "bridge.toml"), env, problems)[1:] == []
    assert any('follow must be "quiet" or "thread"' in p for p in problems)
    single = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t", "SLACK_TRIAGE_CHANNEL": "C0X"}
    assert default_account_from_env(single, []).quiet_follows
    assert not default_account_from_env({**single, "LINE_FOLLOW": "thread"}, []).quiet_follows
    problems = []
    default_account_from_env({**single, "LINE_FOLLOW": "loud"}, problems)
    assert any("LINE_FOLLOW" in p for p in problems)
