"""Slack → LINE, end to end: staff write in the thread, the friend receives it on LINE."""
from __future__ import annotations

import time
import uuid

from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, wait_until, cid
from tests.helpers import open_thread


def test_staff_reply_uses_the_fresh_reply_token_and_is_marked_sent(h):
    thread = open_thread(h)
    msg = h.staff_says(thread, "お問い合わせありがとうございます！")
    assert wait_until(lambda: h.line.deliveries)
    delivery = h.line.deliveries[0]
    assert delivery.via == "reply" and delivery.to == [HANAKO]
    assert h.line.delivered_texts(HANAKO) == ["お問い合わせありがとうございます！"]
    assert wait_until(lambda: "free" in h.slack.reactions(TRIAGE, msg["ts"]))
    conv = h.conv(HANAKO)
    assert conv.waiting_since == 0 and conv.last_staff_reply_at > 0


def test_used_token_means_the_next_reply_is_pushed_with_a_retry_key(h):
    thread = open_thread(h)
    h.staff_says(thread, "一つ目")
    h.staff_says(thread, "二つ目")
    assert wait_until(lambda: len(h.line.deliveries) == 2)
    assert [d.via for d in h.line.deliveries] == ["reply", "push"]
    uuid.UUID(h.line.deliveries[1].retry_key)  # a real UUID
    assert h.line.delivered_texts(HANAKO) == ["一つ目", "二つ目"]


def test_token_rejected_by_line_falls_back_to_push(h):
    thread = open_thread(h)
    h.line.expire_reply_tokens()
    h.staff_says(thread, "遅くなりました")
    assert wait_until(lambda: h.line.deliveries)
    assert [r.status for r in h.line.requests_for("replyMessage")] == [400]
    assert [d.via for d in h.line.deliveries] == ["push"]
    assert h.line.delivered_texts(HANAKO) == ["遅くなりました"]


def test_stale_token_is_not_even_tried(h):
    event = h.webhooks.text(HANAKO, "昨日のメッセージ")
    event["timestamp"] = int((time.time() - 3600) * 1000)
    h.send_line(event)
    thread = h.thread_of(HANAKO)
    h.staff_says(thread, "返信が遅れて申し訳ありません")
    assert wait_until(lambda: h.line.deliveries)
    assert h.line.requests_for("replyMessage") == []
    assert h.line.deliveries[0].via == "push"


def test_retried_push_is_delivered_exactly_once_with_the_same_retry_key(h):
    thread = open_thread(h)
    h.line.expire_reply_tokens()
    h.line.fail_next("pushMessage", 500)
    h.staff_says(thread, "確実に一度だけ")
    assert wait_until(lambda: h.line.deliveries, timeout=15)
    h.settle()
    pushes = h.line.requests_for("pushMessage")
    assert [p.status for p in pushes] == [500, 200]
    assert pushes[0].headers.get("X-Line-Retry-Key") == pushes[1].headers.get("X-Line-Retry-Key")
    assert h.line.delivered_texts(HANAKO) == ["確実に一度だけ"]


def test_line_rate_limit_is_retried_after_retry_after(h):
    thread = open_thread(h)
    h.line.expire_reply_tokens()
    h.line.fail_next("pushMessage", 429, retry_after=2)
    h.staff_says(thread, "少々お待ちください")
    assert wait_until(lambda: h.line.deliveries, timeout=15)
    pushes = h.line.requests_for("pushMessage")
    assert pushes[0].status == 429 and pushes[1].time - pushes[0].time >= 2.0
    assert len(h.line.deliveries) == 1


def test_internal_notes_are_never_sent(h):
    thread = open_thread(h)
    note1 = h.staff_says(thread, "// 常連さん。前回は木曜に来店")
    note2 = h.staff_says(thread, "note: 折り返し電話済み")
    h.staff_says(thread, "承知しました")
    assert wait_until(lambda: h.line.deliveries)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["承知しました"]
    notes = h.store.notes(cid(HANAKO))
    assert [n["text"] for n in notes] == ["// 常連さん。前回は木曜に来店", "note: 折り返し電話済み"]
    assert wait_until(lambda: "memo" in h.slack.reactions(TRIAGE, note1["ts"]) and "memo" in h.slack.reactions(TRIAGE, note2["ts"]))


def test_bot_messages_are_never_sent(h):
    thread = open_thread(h)
    h.slack_sender.send_event({"type": "message", "channel": TRIAGE, "thread_ts": thread, "ts": "1999999999.000100",
                               "text": "自動投稿", "bot_id": "BOTHER", "subtype": "bot_message"})
    h.slack_sender.send_event({"type": "message", "channel": TRIAGE, "thread_ts": thread, "ts": "1999999999.000200",
                               "text": "エコー", "user": "UBOT", "bot_id": "BBOT"})
    h.staff_says(thread, "人間の返信")
    assert wait_until(lambda: h.line.deliveries)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["人間の返信"]


def test_messages_outside_conversation_threads_are_not_relayed(h):
    thread = open_thread(h)
    h.slack_sender.user_message(TRIAGE, STAFF, "チャンネルへの普通の投稿")
    h.slack_sender.user_message("COTHER01", STAFF, "別チャンネル", thread_ts=thread)
    h.staff_says(thread, "スレッドでの返信")
    assert wait_until(lambda: h.line.deliveries)
    h.settle()
    assert h.line.delivered_texts() == ["スレッドでの返信"]


def test_slack_markup_becomes_plain_line_text(h):
    thread = open_thread(h)
    h.staff_says(thread, "<@USTAFF02> が担当します。<https://example.com/reserve|予約ページ> からどうぞ :smile: &amp; *よろしく*")
    assert wait_until(lambda: h.line.deliveries)
    assert h.line.delivered_texts(HANAKO) == ["@suzuki が担当します。予約ページ (https://example.com/reserve) からどうぞ 😄 & よろしく"]


def test_long_replies_are_split_within_line_limits(h):
    thread = open_thread(h)
    h.line.expire_reply_tokens()
    text = "\n".join(f"{i:04d} " + "あ" * 94 for i in range(270))  # ~27,000 UTF-16 units -> 6 chunks
    h.staff_says(thread, text)
    assert wait_until(lambda: len(h.line.deliveries) == 2, timeout=15)
    sizes = [len(d.messages) for d in h.line.deliveries]
    assert sizes[0] == 5 and sizes[1] >= 1
    delivered = h.line.delivered_texts(HANAKO)
    assert all(len(t) <= 5000 for t in delivered)
    assert "".join(delivered).replace("\n", "") == text.replace("\n", "")
    keys = {d.retry_key for d in h.line.deliveries}
    assert len(keys) == 2


def test_staff_replies_keep_their_order_with_two_workers(h):
    thread = open_thread(h)
    for i in range(12):
        h.staff_says(thread, f"返信 {i:02d}", user=STAFF if i % 2 else STAFF2)
    assert wait_until(lambda: len(h.line.deliveries) == 12, timeout=30)
    assert h.line.delivered_texts(HANAKO) == [f"返信 {i:02d}" for i in range(12)]


def test_failed_delivery_is_shown_in_the_thread_with_the_reason(h):
    thread = open_thread(h)
    h.line.expire_reply_tokens()
    h.line.set_monthly_quota(0)
    msg = h.staff_says(thread, "届かないメッセージ")
    # Generous deadlines: the report is quick, but the machine may be busy (this is not a speed test).
    assert wait_until(lambda: any("上限" in m["text"] for m in h.thread_messages(thread)), timeout=30)
    failure = [m for m in h.thread_messages(thread) if "上限" in m["text"]]
    assert len(failure) == 1 and "LINE に送信できませんでした" in failure[0]["text"]
    assert wait_until(lambda: "x" in h.slack.reactions(TRIAGE, msg["ts"]), timeout=30)
    # Judged by this reply's own text: nothing a previous test left in flight can make it pass or fail.
    assert "届かないメッセージ" not in h.line.delivered_texts(HANAKO)
    assert any(r.status == 429 and "届かないメッセージ" in str(r.json) for r in h.line.requests_for("pushMessage"))


def test_reply_to_a_friend_who_blocked_the_account_is_refused_visibly(h):
    thread = open_thread(h)
    h.send_line(h.webhooks.unfollow(HANAKO))
    assert wait_until(lambda: h.conv(HANAKO).blocked)
    h.staff_says(thread, "まだいますか？")
    assert wait_until(lambda: any("ブロックされています" in m["text"] for m in h.thread_messages(thread)))
    assert h.line.requests_for("pushMessage") == [] and h.line.deliveries == []


def test_slack_retries_are_deduplicated_on_event_id(h):
    thread = open_thread(h)
    event = {"type": "message", "channel": TRIAGE, "thread_ts": thread, "ts": "1999999999.000300",
             "user": STAFF, "text": "一回だけ送る"}
    assert h.slack_sender.send_event(event, event_id="Ev0RETRY01").status_code == 200
    assert h.slack_sender.send_event(event, event_id="Ev0RETRY01", retry_num=1).status_code == 200
    assert h.slack_sender.send_event(event, event_id="Ev0RETRY01", retry_num=2).status_code == 200
    assert wait_until(lambda: h.line.deliveries)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["一回だけ送る"]


def test_slack_requests_with_bad_or_stale_signatures_are_refused(h):
    thread = open_thread(h)
    event = {"type": "message", "channel": TRIAGE, "thread_ts": thread, "ts": "1999999999.000400", "user": STAFF, "text": "x"}
    assert h.slack_sender.send_event(event, signature="v0=deadbeef").status_code == 401
    assert h.slack_sender.send_event(event, timestamp=int(time.time()) - 600).status_code == 401
    h.settle()
    assert h.line.deliveries == []


def test_group_replies_are_pushed_to_the_group(h):
    group = "C" + "b" * 32
    h.line.add_group(group, "常連さんグループ", members={TARO: "Taro Tanaka"})
    event = h.webhooks.text(group, "質問です", source_type="group", user_id=TARO)
    event["timestamp"] = int((time.time() - 3600) * 1000)
    h.send_line(event)
    thread = h.thread_of(group)
    h.staff_says(thread, "はい、どうぞ")
    assert wait_until(lambda: h.line.deliveries)
    assert h.line.deliveries[0].to == [group] and h.line.deliveries[0].via == "push"


def test_reply_that_failed_with_5xx_is_retried_with_the_same_token_and_delivered_once(h):
    thread = open_thread(h)
    h.line.fail_next("replyMessage", 500)
    h.staff_says(thread, "一度だけ届くはず")
    assert wait_until(lambda: h.line.deliveries, timeout=15)
    h.settle()
    replies = h.line.requests_for("replyMessage")
    assert [r.status for r in replies] == [500, 200]
    assert replies[0].json["replyToken"] == replies[1].json["replyToken"]
    assert [d.via for d in h.line.deliveries] == ["reply"]
    assert h.line.requests_for("pushMessage") == []


def test_files_are_not_silently_dropped(h):
    thread = open_thread(h)
    files = [{"id": "F0001", "name": "地図.png", "mimetype": "image/png"}]  # not readable from Slack
    h.staff_says(thread, "", subtype="file_share", files=files)
    assert wait_until(lambda: any("「地図.png」は LINE に送信していません" in m["text"] for m in h.thread_messages(thread)))
    assert wait_until(lambda: any("送信できる内容がありません" in m["text"] for m in h.thread_messages(thread)))
    h.staff_says(thread, "地図を送ります", subtype="file_share", files=files)
    assert wait_until(lambda: sum("「地図.png」は LINE に送信していません" in m["text"] for m in h.thread_messages(thread)) == 2)
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["地図を送ります"])


def test_unfollow_from_a_stranger_opens_no_thread(h):
    h.send_line(h.webhooks.unfollow(TARO))
    h.friend_says(HANAKO, "こんにちは")
    assert wait_until(lambda: h.conv(HANAKO) is not None)
    h.settle()
    assert h.conv(TARO) is None
    assert len(h.slack.messages(TRIAGE)) == 1


def test_slack_url_verification_is_answered(h):
    resp = h.slack_sender.url_verification("abc123")
    assert resp.status_code == 200 and "abc123" in resp.text
