"""Relay and triage behaviour, in process: the domain with the real store and SDK gateways
pointed at the emulators, no web tier and no workers (fast; see the end-to-end tests for
ordering, retries and the Procfile)."""
from __future__ import annotations

from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, cid


def test_a_friend_message_opens_a_numbered_thread_under_the_friends_name(ip):
    ip.friend_says(HANAKO, "予約を変更したいです")
    conv = ip.conv(HANAKO)
    assert (conv.number, conv.name, conv.mark, conv.channel) == (1, "山田 花子", "needs_reply", TRIAGE)
    (parent,) = ip.slack.messages(TRIAGE)
    assert "#1 山田 花子" in parent["text"] and "予約を変更したいです" in parent["blocks"][1]["text"]["text"]
    assert ip.slack.messages(TRIAGE, conv.thread_ts) == []  # the first message is the parent: one post
    ip.friend_says(HANAKO, "午後に")
    (reply,) = ip.slack.messages(TRIAGE, conv.thread_ts)
    assert (reply["username"], reply["text"]) == ("山田 花子", "午後に")
    assert conv.waiting_since > 0


def test_a_staff_reply_uses_the_free_reply_token_then_pushes(ip):
    ip.friend_says(HANAKO, "こんにちは")
    thread = ip.conv(HANAKO).thread_ts
    first = ip.staff_says(thread, "こんにちは！")
    second = ip.staff_says(thread, "ご用件をどうぞ")
    assert [(d.via, d.messages[0]["text"]) for d in ip.line.deliveries] == [("reply", "こんにちは！"), ("push", "ご用件をどうぞ")]
    # one mark each says delivered and what it cost: 🆓 the free reply, 🔢 the counted push
    assert set(ip.slack.reactions(TRIAGE, first["ts"])) == {"free"} and set(ip.slack.reactions(TRIAGE, second["ts"])) == {"1234"}
    assert ip.conv(HANAKO).waiting_since == 0   # answered: the clock stopped


def test_notes_stay_in_slack(ip):
    ip.friend_says(HANAKO, "こんにちは")
    note = ip.staff_says(ip.conv(HANAKO).thread_ts, "// 常連さん")
    assert ip.line.deliveries == []
    assert [n["text"] for n in ip.store.notes(cid(HANAKO))] == ["// 常連さん"]
    assert "memo" in ip.slack.reactions(TRIAGE, note["ts"])


def test_a_claim_marks_the_chat_read_and_shows_the_loading_animation(ip):
    ip.friend_says(HANAKO, "至急お願いします")
    ip.op(cid(HANAKO), "claim")
    assert ip.conv(HANAKO).assignee == STAFF
    assert ip.line.requests_for("markMessagesAsReadByToken")
    assert ip.line.loading_animations and ip.line.loading_animations[0][0] == HANAKO
    assert any("担当" in m["text"] for m in ip.slack.messages(TRIAGE, ip.conv(HANAKO).thread_ts))


def test_marks_and_resolve_move_the_conversation_through_its_lifecycle(ip):
    ip.friend_says(TARO, "返品したい")
    ip.op(cid(TARO), "mark", "complaint", actor=STAFF2)
    assert ip.conv(TARO).mark == "complaint"
    ip.op(cid(TARO), "resolve")
    assert ip.conv(TARO).mark == "resolved"
    ip.friend_says(TARO, "もう一つ質問です")          # a new message reopens it in the same thread
    assert ip.conv(TARO).mark == "needs_reply"
    top = ip.slack.messages(TRIAGE)
    assert [m.get("subtype") for m in top] == [None, "thread_broadcast"]   # same thread, reopening shown in the channel


def test_a_blocked_friend_is_not_sent_to_and_staff_are_told_why(ip):
    ip.friend_says(HANAKO, "さようなら")
    ip.line_event(ip.webhooks.unfollow(HANAKO))
    assert ip.conv(HANAKO).blocked
    msg = ip.staff_says(ip.conv(HANAKO).thread_ts, "届きますか？")
    assert ip.line.deliveries == []
    assert "x" in ip.slack.reactions(TRIAGE, msg["ts"])
    assert any("ブロック" in m["text"] for m in ip.slack.messages(TRIAGE, ip.conv(HANAKO).thread_ts))


def test_an_edited_line_message_updates_its_slack_copy_and_says_so(ip):
    ip.friend_says(HANAKO, "こんにちは")  # (an edit of the parent's first message: tests/test_first_message_parent.py)
    event = ip.friend_says(HANAKO, "明日10時に伺います")
    thread = ip.conv(HANAKO).thread_ts
    (copy,) = ip.slack.messages(TRIAGE, thread)
    edited = {"type": "messageEdited", "mode": "active", "timestamp": event["timestamp"] + 1000,
              "webhookEventId": "01EDITEDEVENT0000000000000", "deliveryContext": {"isRedelivery": False},
              "source": {"type": "user", "userId": HANAKO},
              "message": {"id": event["message"]["id"], "type": "text", "text": "明日11時に伺います"}}
    ip.line_event(edited)
    (updated,) = ip.slack.messages(TRIAGE, thread)
    assert updated["ts"] == copy["ts"]
    assert "明日11時に伺います" in updated["text"] and "編集済み" in updated["text"]
    assert "10時" not in updated["text"]
