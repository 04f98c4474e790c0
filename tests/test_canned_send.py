"""定型文 sent through the undo window, end to end: picked in the message shortcut's modal (posted in
the thread by the bridge, relayed like a typed reply, cancellable) and typed ``!key`` replies whose
author sees the exact expanded text before it is sent."""
from __future__ import annotations

import json

from tests.conftest import HANAKO, STAFF, TRIAGE, cid, wait_until
from tests.helpers import open_thread
from tests.test_friends import edit_friend
from tests.test_undo_window import delete, edit, reactions

HOURS = "山田 花子様、営業時間は10時〜19時です。担当: 佐藤"


def pick(h, thread, key, extra=""):
    """Run the message shortcut on the friend's message, pick ``key`` in the modal and submit; the bridge's post."""
    before = set(h.slack.views)
    h.slack_sender.message_shortcut("conversation_actions", STAFF, TRIAGE, thread)
    assert wait_until(lambda: set(h.slack.views) - before)
    view = h.slack.views[(set(h.slack.views) - before).pop()]
    select = next(b for b in view["blocks"] if b.get("block_id") == "canned")["element"]
    labels = [o["text"]["text"] for o in select["options"]]
    assert any(label.startswith("!hours — {name}様、営業時間は") for label in labels), labels
    resp = h.slack_sender.view_submission(STAFF, view, {
        "quick": {"quick": {"type": "checkboxes", "selected_options": []}},
        "mark": {"mark": {"type": "static_select", "selected_option": None}},
        "assignee": {"assignee": {"type": "users_select", "selected_user": None}},
        "canned": {"canned": {"type": "static_select", "selected_option": {"value": key}}},
        "canned_extra": {"canned_extra": extra},
    })
    assert resp.status_code == 200 and not resp.text, resp.text
    assert wait_until(lambda: picked_posts(h, thread))
    return picked_posts(h, thread)[0]


def picked_posts(h, thread):
    return [m for m in h.thread_messages(thread) if "（定型文 `!" in m.get("text", "")]


def buttons(message):
    return [e for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def test_canned_reply_picked_in_the_modal_waits_in_the_thread_then_is_sent_once(h, delay):
    delay(6)  # the window must outlast the post and ⏳ even on a loaded machine
    thread = open_thread(h)
    post = pick(h, thread, "hours", extra="ご来店お待ちしております <3 !bye")
    expected = HOURS + "\nご来店お待ちしております <3 !bye"
    # Attributed to the staff member, showing exactly what LINE will get, cancellable while it waits.
    assert post["text"].startswith(f"<@{STAFF}>（定型文 `!hours`）") and expected.replace("<", "&lt;") in post["text"]
    assert post.get("username") == "佐藤" and post["icons"]["image_72"] == h.slack.users[STAFF]["profile"]["image_72"]
    assert [b["action_id"] for b in buttons(post)] == ["canned_cancel"]
    assert wait_until(lambda: "hourglass_flowing_sand" in reactions(h, post["ts"]))
    assert h.line.delivered_texts(HANAKO) == []
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=20)
    assert wait_until(lambda: "free" in reactions(h, post["ts"]))
    h.settle()
    assert h.line.delivered_texts(HANAKO) == [expected]
    after = h.slack.message(TRIAGE, post["ts"])
    assert not buttons(after) and "LINE に送信しました" in json.dumps(after["blocks"], ensure_ascii=False)
    assert "hourglass_flowing_sand" not in reactions(h, post["ts"])
    assert h.conv(HANAKO).waiting_since == 0  # counts as the staff reply
    assert len(picked_posts(h, thread)) == 1
    assert h.slack.ephemerals(TRIAGE, STAFF) == []  # the post showed the text; nothing is expanded again


def test_picked_canned_reply_to_a_friend_who_blocked_the_account_fails_visibly(h, delay):
    delay(1)
    thread = open_thread(h)
    h.send_line(h.webhooks.unfollow(HANAKO))
    assert wait_until(lambda: h.conv(HANAKO).blocked)
    post = pick(h, thread, "hours")
    assert wait_until(lambda: any("ブロックされています" in m["text"] for m in h.thread_messages(thread)))
    assert wait_until(lambda: "送信できませんでした" in json.dumps(h.slack.message(TRIAGE, post["ts"])["blocks"], ensure_ascii=False))
    assert h.line.deliveries == [] and not buttons(h.slack.message(TRIAGE, post["ts"]))


def test_cancel_within_the_window_sends_nothing(h, delay):
    delay(8)  # time to press 取り消し even on a loaded machine
    thread = open_thread(h)
    post = pick(h, thread, "hours")
    h.slack_sender.block_action(STAFF, TRIAGE, post["ts"], "canned_cancel", thread_ts=thread)
    assert wait_until(lambda: any("取り消したため" in m["text"] for m in h.thread_messages(thread)))
    h.settle(timeout=30)
    assert h.line.delivered_texts(HANAKO) == []
    after = h.slack.message(TRIAGE, post["ts"])
    assert not buttons(after) and "取り消されたため" in json.dumps(after["blocks"], ensure_ascii=False)
    assert "hourglass_flowing_sand" not in reactions(h, post["ts"]) and not {"free", "1234"} & set(reactions(h, post["ts"]))


def test_typed_key_shows_the_author_the_expanded_text_and_sends_exactly_that(h, delay):
    thread = open_thread(h)
    edit_friend(h, HANAKO, member_no="A-1001")
    assert wait_until(lambda: h.store.r.exists(h.store.keys.friend(conv_id=cid(HANAKO))))
    delay(10)  # room for a 友だち情報 edit inside the window, even on a loaded machine
    h.staff_says(thread, "!member")
    assert wait_until(lambda: any("会員番号 A-1001 で承りました。" in e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF)))
    shown = [e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF) if "会員番号" in e["text"]][0]
    assert "秒後にこの文面を LINE に送信します" in shown and "メッセージを削除" in shown
    # 友だち情報 changes while the reply waits: what was shown is what is sent.
    edit_friend(h, HANAKO, member_no="B-2002")  # returns once saved
    assert h.line.delivered_texts(HANAKO) == []   # ... while the reply still waits
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=20)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["会員番号 A-1001 で承りました。"]


def test_editing_a_key_reply_in_the_window_shows_the_new_text_and_sends_it(h, delay):
    delay(8)
    thread = open_thread(h)
    msg = h.staff_says(thread, "!hours")
    assert wait_until(lambda: any(HOURS in e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF)))
    edit(h, thread, msg, "!member")
    assert wait_until(lambda: any("会員番号 {member_no} で承りました。" in e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF)))
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=20)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["会員番号 {member_no} で承りました。"]  # no such field: stays as written


def test_unknown_keys_are_shown_to_the_author_before_anything_is_sent(h, delay):
    delay(12)
    thread = open_thread(h)
    h.staff_says(thread, "!nosuchkey")
    # Refused at once (⚠️ in the thread), not at the end of the window.
    assert wait_until(lambda: any("!nosuchkey" in m.get("text", "") and "⚠" in m.get("text", "")
                                  for m in h.thread_messages(thread)), timeout=6)
    # An unknown !word inside a reply is sent as written: its author is told while it waits.
    msg = h.staff_says(thread, "ご連絡ありがとうございます!thanx")
    assert wait_until(lambda: any("`!thanx`" in e["text"] and "そのままの文字で送信" in e["text"]
                                  for e in h.slack.ephemerals(TRIAGE, STAFF)), timeout=6)
    assert h.line.delivered_texts(HANAKO) == []
    delete(h, thread, msg)  # and then thinks better of it
    assert wait_until(lambda: any("LINE には送信しません" in m["text"] for m in h.thread_messages(thread)))
    h.settle(timeout=40)  # the cancelled item leaves its stream when its 12 s window ends
    assert h.line.delivered_texts(HANAKO) == []


def echoes(h, thread):
    return [m for m in h.thread_messages(thread) if "定型文を展開して送信しました" in m.get("text", "")]


def test_the_thread_is_told_what_a_typed_key_sent_even_when_slack_makes_that_line_wait(h, delay):
    """The friend got the 定型文; the thread says what they got (📤). When Slack refuses that line
    (429: wait for the channel's turn), the reply was already sent, and its retry used to find it
    "sent" and stop: the line was lost. Now the retry resumes after the delivery: the line comes,
    once, and LINE still gets the text once."""
    thread = open_thread(h)
    delay(4)
    h.staff_says(thread, "!hours")
    assert wait_until(lambda: any(HOURS in e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF)))
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the 📤 line, has to wait
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=20)
    assert wait_until(lambda: echoes(h, thread), timeout=20)
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "定型文を展開して送信しました" in refused[0].args.get("text", "")  # it did wait
    assert len(echoes(h, thread)) == 1 and HOURS in echoes(h, thread)[0]["text"]
    assert h.line.delivered_texts(HANAKO) == [HOURS]
    assert h.conv(HANAKO).waiting_since == 0  # the steps after the echo's place ran too
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done
