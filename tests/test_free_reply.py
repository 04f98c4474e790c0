"""Free replies: the reply token is used for as long as LINE documents it (with a margin), the author
of a waiting reply is offered 今すぐ送信（無料） when the friend's token would expire before the undo
window ends, and the parent says until when a free reply is possible without an extra Slack call.

LINE: "Reply tokens must be used within one minute after receiving the webhook"
(https://developers.line.biz/en/reference/messaging-api/#send-reply-message).
The harness runs with LINE_REPLY_TOKEN_TTL=30; a friend's message is made older than it is by
its event timestamp (the time the bridge counts the token's age from).
"""
from __future__ import annotations

import json
import time

import pytest

from bridge.settings import REPLY_TOKEN_LIFETIME, Settings, SettingsError
from bridge.slack_ui.free_reply import ACTION_SEND_NOW
from tests.conftest import HANAKO, STAFF, STAFF2, TRIAGE, wait_until
from tests.test_undo_window import reactions

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "REDIS_URL": "redis://localhost:6379/0",
        "PUBLIC_BASE_URL": "https://bridge.example.jp", "LINE_CHANNEL_SECRET": "sec",
        "LINE_CHANNEL_ACCESS_TOKEN": "tok", "SLACK_TRIAGE_CHANNEL": "C0TRIAGE"}
TTL = 30  # LINE_REPLY_TOKEN_TTL of the harness


# -- the token's lifetime ------------------------------------------------------------------------
def test_the_default_reply_token_lifetime_is_lines_minute_less_a_margin():
    assert REPLY_TOKEN_LIFETIME == 60
    assert Settings.from_env(BASE).reply_token_ttl == 50
    assert Settings.from_env({**BASE, "LINE_REPLY_TOKEN_TTL": "60"}).reply_token_ttl == 60


@pytest.mark.parametrize("value", ["61", "600", "-1", "soon"])
def test_a_reply_token_lifetime_beyond_lines_minute_is_refused_at_start(value):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**BASE, "LINE_REPLY_TOKEN_TTL": value})
    assert any("LINE_REPLY_TOKEN_TTL" in p and "one minute" in p for p in err.value.problems)


def test_a_reply_made_40_seconds_after_the_friends_message_is_free_with_the_default_lifetime(ip, settings,
                                                                                            line_emu, slack_emu):
    """The old 30 s made this a counted push; LINE keeps the token valid for a minute."""
    import dataclasses

    from tests.helpers import InProcess

    ip = InProcess(dataclasses.replace(settings, reply_token_ttl=Settings.from_env(BASE).reply_token_ttl),
                   line_emu, slack_emu)
    event = ip.webhooks.text(HANAKO, "駐車場はありますか")
    event["timestamp"] -= 40_000  # the friend wrote 40 s ago
    ip.line_event(event)
    ip.staff_says(ip.conv(HANAKO).thread_ts, "はい、5台分あります")
    assert ip.line.delivered_texts(HANAKO) == ["はい、5台分あります"]
    assert [d.via for d in ip.line.deliveries] == ["reply"]


# -- 今すぐ送信（無料） -----------------------------------------------------------------------------
def friend_wrote(h, text: str, seconds_ago: float) -> str:
    """The friend's message, as if LINE had sent it ``seconds_ago``; returns the thread."""
    event = h.webhooks.text(HANAKO, text)
    event["timestamp"] -= int(seconds_ago * 1000)
    assert h.send_line(event).status_code == 200
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: h.conv(HANAKO).reply_token)
    return thread


def offers(h, user: str = STAFF) -> list[dict]:
    """The 今すぐ送信（無料） buttons the user was shown."""
    return [el for e in h.slack.ephemerals(TRIAGE, user) for b in e.get("blocks") or [] if b.get("type") == "actions"
            for el in b["elements"] if el.get("action_id") == ACTION_SEND_NOW]


def ephemeral_texts(h, user: str = STAFF) -> str:
    return json.dumps([e.get("text") for e in h.slack.ephemerals(TRIAGE, user)], ensure_ascii=False)


def click(h, user: str, thread: str, button: dict) -> None:
    resp = h.slack_sender.block_action(user, TRIAGE, thread, ACTION_SEND_NOW, button["value"], thread_ts=thread)
    assert resp.status_code == 200


def vias(h) -> list[str]:
    return [d.via for d in h.line.deliveries if HANAKO in d.to]


def test_no_offer_when_the_token_outlives_the_undo_window(h, delay):
    delay(3)
    thread = friend_wrote(h, "予約できますか", seconds_ago=0)
    msg = h.staff_says(thread, "はい、できます")
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["はい、できます"], timeout=20)
    assert wait_until(lambda: "free" in reactions(h, msg["ts"]))
    h.settle()
    assert offers(h) == [] and vias(h) == ["reply"]


def test_the_author_sends_now_and_the_reply_is_free(h, delay):
    delay(30)  # the window ends long after the friend's token (written 10 s ago, trusted for 30 s)
    thread = friend_wrote(h, "今日は何時まで営業ですか", seconds_ago=10)
    msg = h.staff_says(thread, "20時までです")
    assert wait_until(lambda: offers(h))
    assert "今すぐ送信（無料）" in json.dumps(h.slack.ephemerals(TRIAGE, STAFF), ensure_ascii=False)
    assert "<!date^" in ephemeral_texts(h) and "あと" in ephemeral_texts(h)
    assert h.line.delivered_texts(HANAKO) == []
    click(h, STAFF, thread, offers(h)[0])
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["20時までです"], timeout=10)
    assert vias(h) == ["reply"]   # LINE recorded a free reply, not a push
    assert wait_until(lambda: "free" in reactions(h, msg["ts"]))  # one mark: delivered, free
    assert wait_until(lambda: "無料の応答メッセージ" in ephemeral_texts(h))


def test_a_second_reply_while_the_first_waits_gets_no_offer_and_both_arrive_in_order(h, delay):
    """The first waiting reply goes first and takes the token: "send now, free" on a later one
    would be neither first nor free, so only the first is offered it."""
    delay(30)
    thread = friend_wrote(h, "駐車場はありますか", seconds_ago=10)
    h.staff_says(thread, "はい、あります")
    assert wait_until(lambda: len(offers(h)) == 1)
    second = h.staff_says(thread, "3台まで停められます")
    assert wait_until(lambda: "hourglass_flowing_sand" in reactions(h, second["ts"]))  # held: ⏳
    h.settle()
    assert len(offers(h)) == 1   # the second reply got no offer of its own
    click(h, STAFF, thread, offers(h)[0])
    assert wait_until(lambda: h.line.delivered_texts(HANAKO)[:1] == ["はい、あります"], timeout=10)
    assert vias(h)[:1] == ["reply"]


def test_a_double_click_and_the_windows_own_timer_send_it_once(h, delay):
    delay(20)
    thread = friend_wrote(h, "キャンセルできますか", seconds_ago=15)
    h.staff_says(thread, "はい、前日までなら無料です")
    window_end = time.time() + 20
    assert wait_until(lambda: offers(h))
    button = offers(h)[0]
    click(h, STAFF, thread, button)
    click(h, STAFF, thread, button)
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=10)
    click(h, STAFF, thread, button)  # after the send: told it is moot
    assert wait_until(lambda: "すでに送信" in json.dumps(h.slack.responses, ensure_ascii=False))
    # the window's own wake-up comes later and finds nothing to send
    assert wait_until(lambda: time.time() > window_end + 1, timeout=30)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["はい、前日までなら無料です"]
    assert vias(h) == ["reply"]


def test_someone_elses_click_is_refused(h, delay):
    delay(30)
    thread = friend_wrote(h, "在庫はありますか", seconds_ago=10)
    h.staff_says(thread, "ございます")
    assert wait_until(lambda: offers(h))
    button = offers(h)[0]
    for other in (STAFF2, "UOUTSIDER1"):  # a colleague, someone outside the channel (forged payloads)
        h.slack.responses.clear()
        click(h, other, thread, button)
        assert wait_until(lambda: h.slack.responses)
        assert "書いた人" in json.dumps(h.slack.responses[-1], ensure_ascii=False)
    assert h.line.delivered_texts(HANAKO) == []   # still waiting in its window
    click(h, STAFF, thread, button)
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["ございます"], timeout=10)


def test_a_click_after_the_token_expired_pushes_and_says_so(h, delay):
    delay(30)
    thread = friend_wrote(h, "送料はいくらですか", seconds_ago=10)
    h.staff_says(thread, "全国一律500円です")
    assert wait_until(lambda: offers(h))
    h.line.expire_reply_tokens()  # LINE no longer accepts it (the bridge learns it by trying)
    click(h, STAFF, thread, offers(h)[0])
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["全国一律500円です"], timeout=10)
    assert vias(h) == ["push"]
    assert wait_until(lambda: "上限にカウント" in ephemeral_texts(h))


# -- until when a free reply is possible, on the parent -----------------------------------------
def parent_text(h, thread: str) -> str:
    return json.dumps((h.slack.message(TRIAGE, thread) or {}).get("blocks"), ensure_ascii=False)


def parent_updates(h, thread: str) -> int:
    return sum(1 for c in h.slack.calls_for("chat.update") if c.args.get("ts") == thread)


def test_the_parent_says_until_when_a_free_reply_is_possible_at_no_extra_call(h):
    thread = friend_wrote(h, "こんにちは", seconds_ago=0)
    h.settle()
    deadline = int(h.conv(HANAKO).reply_token_at + TTL)
    assert f"無料返信は <!date^{deadline}^{{time_secs}}" in parent_text(h, thread)
    # A second message: the parent is re-rendered for it anyway (last message, waiting time), and
    # the new deadline comes with that same chat.update.
    before = parent_updates(h, thread)
    h.friend_says(HANAKO, "もう一つ質問です")
    assert wait_until(lambda: h.conv(HANAKO).reply_token_at + TTL > deadline)
    h.settle()
    assert parent_updates(h, thread) - before == 1
    assert f"無料返信は <!date^{int(h.conv(HANAKO).reply_token_at + TTL)}^" in parent_text(h, thread)
    # A staff reply spends the token: the parent's refresh after the reply drops the line.
    h.staff_says(thread, "どうぞ")
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["どうぞ"])
    assert wait_until(lambda: "無料返信" not in parent_text(h, thread))
