"""Unsend and edit of friend messages, in a post of several messages and in the /export history.

Friend messages that waited together share one Slack post (bridge.relay.batch): unsending one
of them hides that one only; the others stay, in order, and keep working (edits, quotes, more
unsends). LINE asks services not to keep showing unsent content: the history behind /export
keeps that a message was unsent, not what it said, and an edit keeps the latest text.
"""
from __future__ import annotations

import json

from bridge.friends.export import rows
from bridge.relay.batch import texts_of_post
from tests.conftest import HANAKO, TRIAGE, cid

UNSENT = "🚫 送信取り消しされました"


def batch(ip, *texts: str) -> list[dict]:
    """The friend's ``texts`` waited together: relayed as one Slack post in the thread (the friend
    wrote before, so the thread exists; a new chat's first messages: tests/test_first_message_parent.py)."""
    if ip.conv(HANAKO) is None:
        ip.friend_says(HANAKO, "はじめまして")
    events = [ip.webhooks.text(HANAKO, text) for text in texts]
    base = events[0]["timestamp"]
    for i, event in enumerate(events):
        event["timestamp"] = base + i * 61_000  # a minute apart: each line shows its own time
    items = [{"id": f"it{i}", "kind": ip.work.LINE_EVENT, "payload": {"account": "default", "event": e}}
             for i, e in enumerate(events)]
    assert ip.domain.process_head(items) == len(events)
    return events


def edit(ip, event: dict, text: str) -> None:
    ip.line_event({"type": "messageEdited", "mode": "active", "timestamp": event["timestamp"] + 5000,
                   "webhookEventId": "01EDIT" + event["message"]["id"][-20:].rjust(20, "0"),
                   "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": HANAKO},
                   "message": {"id": event["message"]["id"], "type": "text", "text": text}})


def unsend(ip, event: dict) -> None:
    ip.line_event(ip.webhooks.unsend(HANAKO, event["message"]["id"]))


def thread(ip) -> list[dict]:
    return ip.slack.messages(TRIAGE, ip.conv(HANAKO).thread_ts)


def history(ip) -> list[dict]:
    return list(rows(ip.store, iter([cid(HANAKO)])))


def test_unsending_one_message_of_a_shared_post_hides_only_that_one(ip):
    events = batch(ip, "一つ目", "二つ目は間違い <b>", "三つ目")
    (post,) = thread(ip)
    lines_before = post["text"].split("\n")
    unsend(ip, events[1])
    (after,) = thread(ip)  # the same post, changed in place; no extra notice in the thread
    assert after["ts"] == post["ts"]
    assert texts_of_post(after["text"]) == ["一つ目", UNSENT, "三つ目"]
    lines = after["text"].split("\n")
    assert lines[0] == lines_before[0] and lines[2] == lines_before[2]  # the others exactly as they were
    assert lines[1].split("  ", 1)[0] == lines_before[1].split("  ", 1)[0]  # the unsent one keeps its time
    assert "間違い" not in after["text"]


def test_the_other_messages_of_the_post_keep_working_after_an_unsend(ip):
    events = batch(ip, "10時に伺います", "駐車場はありますか", "よろしくお願いします")
    unsend(ip, events[1])
    edit(ip, events[0], "11時に伺います")
    (post,) = thread(ip)
    first, second, third = texts_of_post(post["text"])
    assert first.startswith("11時に伺います") and "編集済み" in first and "10時" not in post["text"]
    assert (second, third) == (UNSENT, "よろしくお願いします")
    ip.friend_says(HANAKO, "やっぱり12時で", quoted_message_id=events[2]["message"]["id"])
    assert thread(ip)[-1]["text"].startswith("> よろしくお願いします")  # a quote of one that stayed
    unsend(ip, events[0])
    unsend(ip, events[2])
    assert texts_of_post(thread(ip)[0]["text"]) == [UNSENT] * 3
    assert len(thread(ip)) == 2  # the batch post and the quoting message, nothing else


def test_editing_a_message_of_a_shared_post_changes_it_in_place(ip):
    events = batch(ip, "明日伺います", "二名です")
    edit(ip, events[1], "三名です")
    (post,) = thread(ip)
    first, second = texts_of_post(post["text"])
    assert first == "明日伺います"
    assert second.startswith("三名です") and "編集済み" in second and "二名" not in post["text"]


def test_the_history_keeps_that_a_message_was_unsent_but_not_what_it_said(ip):
    kept = ip.friend_says(HANAKO, "予約をお願いします")
    secret = ip.friend_says(HANAKO, "暗証番号は1234です")
    unsend(ip, secret)
    entries = history(ip)
    assert [e["text"] for e in entries] == ["予約をお願いします", ""]
    raw = ip.store.r.zrange(ip.store.keys.transcript(conv_id=cid(HANAKO)), 0, -1)
    assert not any("1234" in member for member in raw)
    assert json.loads(raw[0])["line_message_id"] == kept["message"]["id"]
    assert [e["status"] for e in entries] == ["", "unsent"]
    assert ip.conv(HANAKO).last_message_preview == UNSENT  # /pending no longer shows its start
    assert entries[1]["line_message_id"] == secret["message"]["id"] and entries[1]["direction"] == "in"


def test_the_history_forgets_a_message_unsent_from_a_shared_post(ip):
    events = batch(ip, "こんにちは", "カード番号 4111", "以上です")
    unsend(ip, events[1])
    assert [e["text"] for e in history(ip)] == ["はじめまして", "こんにちは", "", "以上です"]
    assert [e["status"] for e in history(ip)] == ["", "", "unsent", ""]
    raw = ip.store.r.zrange(ip.store.keys.transcript(conv_id=cid(HANAKO)), 0, -1)
    assert not any("4111" in member for member in raw)
    assert not any("4111" in str(v) for v in ip.store.get_line_message("default", events[1]["message"]["id"]).values())


def test_the_history_keeps_the_latest_text_of_an_edited_message(ip):
    said = ip.friend_says(HANAKO, "明日10時に伺います")
    edit(ip, said, "明日11時に伺います")
    edit(ip, said, "明日12時に伺います")
    assert [e["text"] for e in history(ip)] == ["明日12時に伺います"]
    assert [e["status"] for e in history(ip)] == ["edited"]
    assert ip.conv(HANAKO).last_message_preview == "明日12時に伺います"
    unsend(ip, said)
    assert [(e["text"], e["status"]) for e in history(ip)] == [("", "unsent")]
