"""The undo window, end to end: held staff replies, edits and deletions in and after the window,
corrections, a worker restart while a reply waits, and exactly-once with two workers."""
from __future__ import annotations

import os
import signal
import time

from tests.conftest import HANAKO, STAFF, TRIAGE, start_workers, wait_until
from tests.helpers import open_thread


def reactions(h, ts):
    return {r["name"] for r in (h.slack.message(TRIAGE, ts) or {}).get("reactions") or []}


def edit(h, thread, message, new_text):
    event = {"type": "message", "subtype": "message_changed", "channel": TRIAGE, "hidden": True,
             "ts": f"{time.time():.6f}", "event_ts": f"{time.time():.6f}",
             "message": {**{k: v for k, v in message.items() if k != "reactions"}, "text": new_text, "thread_ts": thread,
                         "edited": {"user": message["user"], "ts": f"{time.time():.6f}"}},
             "previous_message": {k: v for k, v in message.items() if k != "reactions"}}
    assert h.slack_sender.send_event(event).status_code == 200


def delete(h, thread, message):
    event = {"type": "message", "subtype": "message_deleted", "channel": TRIAGE, "hidden": True,
             "ts": f"{time.time():.6f}", "event_ts": f"{time.time():.6f}", "deleted_ts": message["ts"],
             "previous_message": {**{k: v for k, v in message.items() if k != "reactions"}, "thread_ts": thread}}
    assert h.slack_sender.send_event(event).status_code == 200


def test_reply_waits_with_hourglass_and_loading_animation_then_is_sent_once(h, delay):
    delay(3)
    thread = open_thread(h)
    msg = h.staff_says(thread, "はい、できます")
    assert wait_until(lambda: "hourglass_flowing_sand" in reactions(h, msg["ts"]))
    assert h.line.delivered_texts(HANAKO) == []
    assert wait_until(lambda: h.line.loading_animations and h.line.loading_animations[0][0] == HANAKO)
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["はい、できます"], timeout=20)
    assert wait_until(lambda: "free" in reactions(h, msg["ts"]))
    assert wait_until(lambda: "hourglass_flowing_sand" not in reactions(h, msg["ts"]))
    assert h.line.delivered_texts(HANAKO) == ["はい、できます"]


def test_editing_within_the_window_changes_what_is_sent(h, delay):
    delay(4)
    thread = open_thread(h)
    msg = h.staff_says(thread, "明日の 10 時でどうでしょう")
    edit(h, thread, msg, "明日の 11 時でどうでしょう")
    assert wait_until(lambda: any("編集後の内容を送ります" in m["text"] for m in h.thread_messages(thread)))
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=20)
    assert h.line.delivered_texts(HANAKO) == ["明日の 11 時でどうでしょう"]


def test_deleting_within_the_window_cancels_the_send(h, delay):
    delay(4)
    thread = open_thread(h)
    msg = h.staff_says(thread, "間違えて送信")
    h.staff_says(thread, "こちらが正しい返事です")
    delete(h, thread, msg)
    assert wait_until(lambda: any("LINE には送信しません" in m["text"] for m in h.thread_messages(thread)))
    assert wait_until(lambda: h.line.delivered_texts(HANAKO), timeout=25)
    assert h.line.delivered_texts(HANAKO) == ["こちらが正しい返事です"]


def test_after_delivery_an_edit_offers_a_correction_and_a_delete_explains(h, delay):
    delay(0)
    thread = open_thread(h)
    msg = h.staff_says(thread, "料金は 3000 円です")
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["料金は 3000 円です"])
    assert wait_until(lambda: "free" in reactions(h, msg["ts"]))
    edit(h, thread, msg, "料金は 3500 円です")
    assert wait_until(lambda: h.slack.ephemerals(TRIAGE, STAFF))
    offer = h.slack.ephemerals(TRIAGE, STAFF)[-1]
    assert "取り消し・編集できません" in offer["text"]
    button = offer["blocks"][1]["elements"][0]
    h.slack_sender.block_action(STAFF, TRIAGE, msg["ts"], button["action_id"], button["value"], thread_ts=thread)
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["料金は 3000 円です", "【訂正】料金は 3500 円です"])
    assert wait_until(lambda: any("訂正を LINE に送信しました" in m["text"] for m in h.thread_messages(thread)))
    delete(h, thread, msg)
    assert wait_until(lambda: any("取り消せません" in e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF)))
    assert len(h.line.delivered_texts(HANAKO)) == 2


def test_a_waiting_reply_survives_a_restart_of_every_worker_and_is_sent_once(h, delay, workers, bridge_env):
    delay(3)
    thread = open_thread(h)
    msg = h.staff_says(thread, "再起動をまたいでも届きます")
    assert wait_until(lambda: "hourglass_flowing_sand" in reactions(h, msg["ts"]))
    old = list(workers)
    for p in old:  # stop every worker while the reply waits
        os.killpg(p.pid, signal.SIGTERM)
    for p in old:
        p.wait(timeout=30)
    assert h.line.delivered_texts(HANAKO) == []
    workers[:] = start_workers(bridge_env, len(old), "test-undo", tag=f"-r{time.time_ns()}")  # the session's teardown stops these
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["再起動をまたいでも届きます"], timeout=40)
    assert wait_until(lambda: "hourglass_flowing_sand" not in reactions(h, msg["ts"]), timeout=20)
    assert h.line.delivered_texts(HANAKO) == ["再起動をまたいでも届きます"]


def test_replies_in_the_window_keep_their_order_and_each_is_sent_once_with_two_workers(h, delay):
    delay(2)
    thread = open_thread(h)
    sent = [h.staff_says(thread, f"返信 {i}") for i in range(4)]
    assert wait_until(lambda: len(h.line.delivered_texts(HANAKO)) == 4, timeout=40)
    assert wait_until(lambda: all({"free", "1234"} & set(reactions(h, m["ts"])) for m in sent), timeout=20)
    assert h.line.delivered_texts(HANAKO) == [f"返信 {i}" for i in range(4)]


def test_a_waiting_reply_that_line_refuses_shows_x_and_loses_its_hourglass(h, delay):
    delay(2)
    thread = open_thread(h)
    h.line.expire_reply_tokens()
    h.line.fail_next("pushMessage", 400, body={"message": "The request body has 1 error(s)"})
    msg = h.staff_says(thread, "届かない返信")
    assert wait_until(lambda: "hourglass_flowing_sand" in reactions(h, msg["ts"]))
    assert wait_until(lambda: "x" in reactions(h, msg["ts"]), timeout=20)
    assert wait_until(lambda: "hourglass_flowing_sand" not in reactions(h, msg["ts"]))
    assert any("⚠️" in m["text"] for m in h.thread_messages(thread))


def test_a_deletion_in_the_window_is_confirmed_even_when_slack_makes_that_line_wait(h, delay):
    """Deleting a held reply cancels it, then says so in the thread. When Slack refuses that line
    (429: wait for the channel's turn), the reply is cancelled already, and the retry used to find
    it "cancelled" and stop: the author never learned that nothing goes to LINE. Now the retry
    resumes at the line: it comes once, and LINE gets nothing."""
    delay(4)
    thread = open_thread(h)
    msg = h.staff_says(thread, "間違えて送信")
    assert wait_until(lambda: "hourglass_flowing_sand" in reactions(h, msg["ts"]))
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the confirmation, has to wait
    delete(h, thread, msg)
    confirmed = lambda: [m for m in h.thread_messages(thread) if "LINE には送信しません" in m["text"]]  # noqa: E731
    assert wait_until(confirmed, timeout=20)
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "LINE には送信しません" in refused[0].args.get("text", "")  # it did wait
    assert len(confirmed()) == 1
    assert h.line.delivered_texts(HANAKO) == []
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done
