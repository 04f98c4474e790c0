"""A new conversation costs one Slack post: the thread parent carries the friend's first message(s).

Slack takes about one ``chat.postMessage`` per second per channel; a campaign brings hundreds of
new chats. The parent shows who the chat is, its status, its controls and what the friend wrote
first; later messages go into the thread. The first messages stay mapped to the parent, so
quotes, edits, unsend and the history keep working, and every re-render of the parent keeps them.
"""
from __future__ import annotations

import json

from bridge.relay.batch import texts_of_post
from tests.conftest import HANAKO, TARO, TRIAGE, cid, wait_until

UNSENT = "🚫 送信取り消しされました"


def parent_of(slack, line_id_conv) -> dict:
    return slack.message(TRIAGE, line_id_conv.thread_ts)


def first_texts(parent: dict) -> list[str]:
    """The friend texts the parent shows (its section right under the title)."""
    section = parent["blocks"][1]
    assert section["type"] == "section"
    return texts_of_post(section["text"]["text"])


def has_controls(parent: dict) -> bool:
    return any(b["type"] == "actions" for b in parent["blocks"])


def replies(slack, thread_ts: str) -> list[dict]:
    return slack.messages(TRIAGE, thread_ts)


def edit(ip, event: dict, text: str) -> None:
    ip.line_event({"type": "messageEdited", "mode": "active", "timestamp": event["timestamp"] + 5000,
                   "webhookEventId": "01EDIT" + event["message"]["id"][-20:].rjust(20, "0"),
                   "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": HANAKO},
                   "message": {"id": event["message"]["id"], "type": "text", "text": text}})


def test_a_new_friend_costs_one_post_and_the_parent_shows_what_they_wrote(h):
    said = h.friend_says(HANAKO, "こんにちは、予約の変更をお願いしたいです <b>")
    thread = h.thread_of(HANAKO)
    h.settle()
    posts = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 200]
    assert len(posts) == 1
    parent = h.slack.message(TRIAGE, thread)
    shown = json.dumps(parent["blocks"], ensure_ascii=False)
    assert "#1" in shown and "山田 花子" in shown and "要対応" in shown and has_controls(parent)
    assert first_texts(parent) == ["こんにちは、予約の変更をお願いしたいです &lt;b&gt;"]
    assert "予約の変更" in parent["text"]  # the notification shows the friend's words too
    assert replies(h.slack, thread) == []
    # the message map points the first message at the parent
    assert h.store.get_line_message("default", said["message"]["id"])["slack_ts"] == thread
    # later messages go into the thread as before
    h.friend_says(HANAKO, "二通目です")
    assert wait_until(lambda: [m["text"] for m in replies(h.slack, thread)] == ["二通目です"])
    assert first_texts(h.slack.message(TRIAGE, thread)) == ["こんにちは、予約の変更をお願いしたいです &lt;b&gt;"]


def test_three_messages_written_before_the_parent_is_posted_are_all_in_it(h):
    h.slack.set_rate_limits(post_per_channel=(1, 5))
    h.slack.fail_next("chat.postMessage", 429, retry_after=2)  # the parent waits; the friend keeps writing
    events = [h.webhooks.text(HANAKO, text) for text in ("一つ目", "二つ目", "三つ目")]
    assert h.send_line(*events).status_code == 200
    thread = h.thread_of(HANAKO, timeout=20)
    h.settle(timeout=30)
    parent = h.slack.message(TRIAGE, thread)
    assert first_texts(parent) == ["一つ目", "二つ目", "三つ目"]
    assert replies(h.slack, thread) == []
    assert len([c for c in h.slack.calls_for("chat.postMessage") if c.status == 200]) == 1
    for event in events:  # quotes, unsend and edits find every one of them
        assert h.store.get_line_message("default", event["message"]["id"])["slack_ts"] == thread


def test_a_group_parent_names_who_wrote_first(ip):
    group = "C" + "b" * 32
    ip.line.add_group(group, "ヨガ教室", members={HANAKO: "山田 花子", TARO: "Taro Tanaka"})
    ip.line_event(ip.webhooks.text(group, "明日は何時から？", source_type="group", user_id=HANAKO))
    conv = ip.store.get_conversation(cid(group))
    parent = parent_of(ip.slack, conv)
    section = parent["blocks"][1]["text"]["text"]
    assert "山田 花子" in section and "明日は何時から？" in section
    assert "ヨガ教室" in json.dumps(parent["blocks"][0], ensure_ascii=False)


def test_quoting_the_first_message_quotes_it_and_links_the_parent(ip):
    first = ip.friend_says(HANAKO, "10時に予約できますか")
    ip.friend_says(HANAKO, "やはり11時で", quoted_message_id=first["message"]["id"])
    thread = ip.conv(HANAKO).thread_ts
    (reply,) = replies(ip.slack, thread)
    assert reply["text"].startswith("> 10時に予約できますか")
    assert f"p{thread.replace('.', '')}" in reply["text"]


def test_editing_the_first_message_changes_the_parent_and_keeps_its_controls(ip):
    first = ip.friend_says(HANAKO, "明日2名で伺います")
    edit(ip, first, "明日3名で伺います")
    conv = ip.conv(HANAKO)
    parent = parent_of(ip.slack, conv)
    (text,) = first_texts(parent)
    assert text.startswith("明日3名で伺います") and "編集済み" in text and "2名" not in json.dumps(parent, ensure_ascii=False)
    assert has_controls(parent) and "#1" in json.dumps(parent["blocks"][0], ensure_ascii=False)
    assert replies(ip.slack, conv.thread_ts) == []  # changed in place, nothing said in the thread


def test_unsending_a_first_message_hides_only_it_and_the_parent_stays_a_parent(ip):
    events = [ip.webhooks.text(HANAKO, text) for text in ("こんにちは", "暗証番号は1234", "以上です")]
    items = [{"id": f"it{i}", "kind": ip.work.LINE_EVENT, "payload": {"account": "default", "event": e}}
             for i, e in enumerate(events)]
    assert ip.domain.process_head(items) == 3  # waited together: all three in the parent
    ip.line_event(ip.webhooks.unsend(HANAKO, events[1]["message"]["id"]))
    conv = ip.conv(HANAKO)
    parent = parent_of(ip.slack, conv)
    assert first_texts(parent) == ["こんにちは", UNSENT, "以上です"]
    assert "1234" not in json.dumps(parent, ensure_ascii=False) and has_controls(parent)
    assert replies(ip.slack, conv.thread_ts) == []
    raw = ip.store.r.zrange(ip.store.keys.transcript(conv_id=cid(HANAKO)), 0, -1)
    assert len(raw) == 3 and not any("1234" in member for member in raw)  # the history keeps three entries


def test_re_rendering_the_parent_keeps_the_first_messages(ip):
    ip.friend_says(HANAKO, "在庫はありますか")
    conv = ip.conv(HANAKO)
    ip.op(conv.conv_id, "claim")  # the status line changes: chat.update of the parent
    parent = parent_of(ip.slack, conv)
    assert "担当" in json.dumps(parent["blocks"][0], ensure_ascii=False)
    assert ip.slack.calls_for("chat.update")
    assert first_texts(parent) == ["在庫はありますか"]
    ip.friend_says(HANAKO, "色違いも")  # a later message refreshes the parent too
    assert first_texts(parent_of(ip.slack, conv)) == ["在庫はありますか"]


def test_a_file_first_gets_its_own_upload_in_the_thread(ip):
    ip.line_event(ip.webhooks.image(HANAKO))
    conv = ip.conv(HANAKO)
    assert conv.thread_ts
    parent = parent_of(ip.slack, conv)
    assert has_controls(parent)
    assert wait_until(lambda: ip.slack.messages(TRIAGE, conv.thread_ts) or ip.slack.calls_for("files.completeUploadExternal"),
                      timeout=10)
