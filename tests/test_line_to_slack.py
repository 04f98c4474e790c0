"""LINE → Slack, end to end: signed webhooks in, Slack threads out (real HTTP, rq workers, emulators)."""
from __future__ import annotations

import json
import time

import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from bridge.relay.batch import texts_of_post
from tests.conftest import HANAKO, TARO, TRIAGE, wait_until, cid


def thread_replies(h, thread_ts):
    return h.thread_messages(thread_ts)


def parent_texts(h, thread_ts) -> list[str]:
    """The friend's first messages, shown in the thread parent (a new conversation costs one post)."""
    blocks = (h.slack.message(TRIAGE, thread_ts) or {}).get("blocks") or []
    if len(blocks) > 1 and blocks[1]["type"] == "section":
        return texts_of_post(blocks[1]["text"]["text"])
    return []


def shown(h, thread_ts) -> list[str]:
    """Every friend text of the conversation in Slack: the parent's first messages, then the thread."""
    return parent_texts(h, thread_ts) + [m["text"] for m in thread_replies(h, thread_ts)]


def test_first_message_creates_parent_and_thread_with_friend_name_and_icon(h):
    h.friend_says(HANAKO, "こんにちは、予約の変更をお願いしたいです")
    thread = h.thread_of(HANAKO)
    assert parent_texts(h, thread) == ["こんにちは、予約の変更をお願いしたいです"]  # the parent carries it

    parents = h.slack.messages(TRIAGE)
    assert len(parents) == 1
    parent_text = json.dumps(parents[0].get("blocks"), ensure_ascii=False) + parents[0]["text"]
    assert "#1" in parent_text and "山田 花子" in parent_text and "要対応" in parent_text

    h.friend_says(HANAKO, "こんにちは、予約の変更をお願いしたいです")  # later messages: in the thread, as the friend
    assert wait_until(lambda: len(thread_replies(h, thread)) == 1)
    reply = thread_replies(h, thread)[0]
    assert reply["text"] == "こんにちは、予約の変更をお願いしたいです"
    assert reply["username"] == "山田 花子"
    assert reply["icon_url"] == "https://profile.line-scdn.net/hanako"


def test_later_messages_go_to_the_same_thread_and_each_friend_gets_a_number(h):
    h.friend_says(HANAKO, "一通目")
    thread = h.thread_of(HANAKO)
    h.friend_says(HANAKO, "二通目")
    h.friend_says(TARO, "Hello!")
    taro_thread = h.thread_of(TARO)
    assert wait_until(lambda: len(shown(h, thread)) == 2 and len(shown(h, taro_thread)) == 1)
    assert shown(h, thread) == ["一通目", "二通目"]
    assert [m["text"] for m in thread_replies(h, thread)] == ["二通目"]
    assert len(h.slack.messages(TRIAGE)) == 2
    numbers = {h.conv(HANAKO).number, h.conv(TARO).number}
    assert numbers == {1, 2}
    assert h.store.get_by_thread(TRIAGE, taro_thread).conv_id == cid(TARO)


def test_group_chat_is_one_thread_and_each_message_names_its_sender(h):
    group = "C" + "a" * 32
    h.line.add_group(group, "ヨガ教室 火曜クラス", members={HANAKO: "山田 花子", TARO: "Taro Tanaka"})
    h.send_line(h.webhooks.text(group, "明日は何時からですか？", source_type="group", user_id=HANAKO))
    h.send_line(h.webhooks.text(group, "I'll be late", source_type="group", user_id=TARO))
    thread = h.thread_of(group)
    assert wait_until(lambda: len(thread_replies(h, thread)) == 1)
    parent = h.slack.messages(TRIAGE)[0]
    assert "ヨガ教室 火曜クラス" in json.dumps(parent.get("blocks"), ensure_ascii=False)
    first = parent["blocks"][1]["text"]["text"]  # the first message, in the parent, names who wrote it
    assert first.startswith("*山田 花子*\n") and first.endswith("  明日は何時からですか？")
    assert [(m["username"], m["text"]) for m in thread_replies(h, thread)] == [("Taro Tanaka", "I'll be late")]


def test_line_text_is_escaped_for_slack_and_cannot_ping_the_channel(h):
    h.friend_says(HANAKO, "<!channel> @channel a&b <https://evil.example|click>")
    thread = h.thread_of(HANAKO)
    h.friend_says(HANAKO, "<!channel> again")
    assert wait_until(lambda: thread_replies(h, thread))
    parent = h.slack.message(TRIAGE, thread)
    for text in (parent_texts(h, thread)[0], parent["text"], thread_replies(h, thread)[0]["text"]):
        assert "<!channel>" not in text and "@channel" not in text
    text = parent_texts(h, thread)[0]
    assert "&amp;" in text and "&lt;https://evil.example|click&gt;" in text


def test_bad_or_missing_signature_is_refused_and_nothing_is_queued(h):
    event = h.webhooks.text(HANAKO, "偽物")
    assert h.send_line(event, signature="aGVsbG8=").status_code == 400
    body = h.webhooks.body([event])
    import requests

    assert requests.post(h.url + "/line/webhook", data=body, headers={"Content-Type": "application/json"}).status_code == 400
    h.settle()
    # (the periodic automation sweep keeps its own bookkeeping keys, "…:automation:…")
    # (The Slack rate limiter's buckets are not work: an earlier test's late parent refresh may fill one.)
    assert not [k for k in h.store.r.scan_iter(match=h.store.keys.prefix + "*") if ":automation:" not in k and ":rate:" not in k]
    queue = Queue(h.settings.queue_name, connection=redis.Redis.from_url(h.settings.redis_url), serializer=JSONSerializer)
    assert queue.count == 0
    assert h.slack.calls_for("chat.postMessage") == []


def test_verify_call_with_no_events_answers_200(h):
    assert h.send_line().status_code == 200


def test_redelivered_event_is_processed_once(h):
    event = h.friend_says(HANAKO, "一度だけ")
    again = json.loads(json.dumps(event))
    again["deliveryContext"] = {"isRedelivery": True}
    assert h.send_line(again).status_code == 200
    assert h.send_line(again).status_code == 200
    thread = h.thread_of(HANAKO)
    h.settle()
    assert shown(h, thread) == ["一度だけ"]


def test_media_messages_show_clear_placeholders(h):
    h.send_line(h.webhooks.image(HANAKO))
    h.send_line(h.webhooks.sticker(HANAKO))
    h.send_line(h.webhooks.file(HANAKO))
    h.send_line(h.webhooks.location(HANAKO))
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: len(thread_replies(h, thread)) == 4)
    texts = [m["text"] for m in thread_replies(h, thread)]
    assert "画像が送信されました" in texts[0]
    assert "スタンプが送信されました" in texts[1]
    assert "ファイルが送信されました" in texts[2]
    assert "位置情報" in texts[3] and "google.com/maps" in texts[3]


def test_every_sample_event_is_accepted_without_error(h, settings):
    events = h.webhooks.sample_events()
    resp = h.send_line(*events)
    assert resp.status_code == 200
    assert resp.json()["accepted"] == len(events)
    # ~25 Slack posts to one channel, paced at Slack's ~1/s (bridge.slack.ratelimit)
    assert wait_until(lambda: not list(h.store.r.scan_iter(match=h.store.keys.prefix + "inbox:*")), timeout=90)
    failed = FailedJobRegistry(settings.queue_name, connection=redis.Redis.from_url(settings.redis_url), serializer=JSONSerializer)
    assert failed.count == 0
    assert h.store.r.llen(h.store.keys.dead_letters()) == 0


def test_standby_events_are_shown_but_never_answered(h):
    h.send_line(h.webhooks.text(HANAKO, "スタンバイ中", mode="standby"))
    thread = h.thread_of(HANAKO)
    assert "スタンバイ" in shown(h, thread)[0]
    h.staff_says(thread, "こちらから返信")
    assert wait_until(lambda: h.line.deliveries)
    assert [d.via for d in h.line.deliveries] == ["push"]
    assert h.line.requests_for("replyMessage") == []


def test_slack_rate_limit_is_honoured(h):
    h.slack.fail_next("chat.postMessage", 429, retry_after=2)
    h.friend_says(HANAKO, "混雑中")
    thread = h.thread_of(HANAKO, timeout=15)
    assert shown(h, thread) == ["混雑中"]
    posts = h.slack.calls_for("chat.postMessage")
    assert posts[0].status == 429
    assert posts[1].time - posts[0].time >= 2.0
    assert len(h.slack.messages(TRIAGE)) == 1


def test_lost_slack_answer_does_not_post_twice(h):
    # Slack posts the message but the answer is lost (500 after the effect): the retry must
    # find the message by its metadata instead of posting it again.
    h.friend_says(HANAKO, "はじめまして")
    thread = h.thread_of(HANAKO)
    h.slack.fail_next("chat.postMessage", 500, after_effect=True)
    h.friend_says(HANAKO, "二回届いてはいけない")
    assert wait_until(lambda: len(h.slack.calls_for("chat.postMessage")) >= 2 and
                      h.conv(HANAKO).last_message_preview == "二回届いてはいけない", timeout=15)
    h.settle()
    assert shown(h, thread) == ["はじめまして", "二回届いてはいけない"]


def test_friend_messages_keep_their_order_with_two_workers(h):
    for i in range(15):
        h.friend_says(HANAKO, f"メッセージ {i:02d}")
        h.friend_says(TARO, f"message {i:02d}")
    t1, t2 = h.thread_of(HANAKO), h.thread_of(TARO)
    # Slack allows ~1 post/s per channel: messages that waited for their turn share one Slack
    # message, one line each ("<time>  text"), in order (bridge.relay.batch).
    assert wait_until(lambda: len(relayed_texts(h, t1)) == 15 and len(relayed_texts(h, t2)) == 15, timeout=60)
    assert relayed_texts(h, t1) == [f"メッセージ {i:02d}" for i in range(15)]
    assert relayed_texts(h, t2) == [f"message {i:02d}" for i in range(15)]
    assert len(h.slack.messages(TRIAGE)) == 2


def relayed_texts(h, thread_ts: str) -> list[str]:
    """The friend's texts as shown in the thread, a batched Slack message split into its lines."""
    out = list(parent_texts(h, thread_ts))
    for m in thread_replies(h, thread_ts):
        lines = m["text"].split("\n")
        out += [line.split("  ", 1)[1] for line in lines] if lines[0].startswith("<!date^") else [m["text"]]
    return out


def test_unfollow_and_follow_are_shown_in_the_thread(h):
    h.friend_says(HANAKO, "やっぱりやめます")
    thread = h.thread_of(HANAKO)
    h.send_line(h.webhooks.unfollow(HANAKO))
    assert wait_until(lambda: any("ブロック" in m["text"] for m in thread_replies(h, thread)))
    assert wait_until(lambda: h.conv(HANAKO).blocked)  # stored right after the notice is posted
    assert wait_until(lambda: "ブロック中" in json.dumps(h.slack.message(TRIAGE, thread).get("blocks"), ensure_ascii=False))
    h.send_line(h.webhooks.follow(HANAKO))
    assert wait_until(lambda: not h.conv(HANAKO).blocked)


def test_a_throttled_parent_update_does_not_hold_up_the_messages(h):
    h.friend_says(HANAKO, "一通目")
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: h.slack.calls_for("chat.update"))
    h.slack.fail_next("chat.update", 429, retry_after=3)
    h.friend_says(HANAKO, "二通目")
    h.friend_says(HANAKO, "三通目")
    shown = lambda: " ".join(m["text"] for m in thread_replies(h, thread))  # noqa: E731 (waiting ones may share a post)
    assert wait_until(lambda: "二通目" in shown() and "三通目" in shown())
    assert wait_until(lambda: any(c.status == 429 for c in h.slack.calls_for("chat.update")))
    throttled = next(c for c in h.slack.calls_for("chat.update") if c.status == 429)
    assert wait_until(lambda: any(c.status == 200 and c.time - throttled.time >= 3 for c in h.slack.calls_for("chat.update")),
                      timeout=30)
    retried = next(c for c in h.slack.calls_for("chat.update") if c.status == 200 and c.time - throttled.time >= 3)
    posts = [c for c in h.slack.calls_for("chat.postMessage") if "三通目" in json.dumps(c.args, ensure_ascii=False)]
    # The messages went out before the parent's Retry-After was over: they did not wait for it.
    assert posts and posts[-1].time < retried.time


def test_the_message_map_links_line_ids_to_slack_with_their_tokens(h):
    h.friend_says(HANAKO, "はじめまして")  # (the first message is the parent: tests/test_first_message_parent.py)
    thread = h.thread_of(HANAKO)
    event = h.friend_says(HANAKO, "引用できるように")
    assert wait_until(lambda: thread_replies(h, thread))
    reply = thread_replies(h, thread)[0]
    # The map is written right after the post: wait for it rather than race it.
    assert wait_until(lambda: h.store.get_line_message("default", event["message"]["id"]).get("slack_ts"))
    assert wait_until(lambda: h.store.get_slack_message(TRIAGE, reply["ts"]).get("line_message_id"))
    mapped = h.store.get_line_message("default", event["message"]["id"])
    assert mapped["slack_ts"] == reply["ts"] and mapped["conv_id"] == cid(HANAKO)
    assert mapped["quote_token"] == event["message"]["quoteToken"]
    assert mapped["mark_as_read_token"] == event["message"]["markAsReadToken"]
    assert wait_until(lambda: h.store.get_slack_message(TRIAGE, reply["ts"]).get("line_message_id") == event["message"]["id"])


def test_unknown_message_types_get_a_placeholder_not_an_error(h):
    event = h.webhooks.text(HANAKO, "x")
    event["message"] = {"id": "990001", "type": "hologram", "quoteToken": "q"}
    assert h.send_line(event).status_code == 200
    thread = h.thread_of(HANAKO)
    assert "hologram" in shown(h, thread)[0]
