"""Triage end to end: claim, assign, marks, resolve/reopen, /pending, mirrored to LINE."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from functools import partial

from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, cid, ready_app, wait_until
from tests.helpers import open_thread

open_thread = partial(open_thread, text="はじめまして", then="こんにちは")  # a thread holding one friend message

OUTSIDER = "UOUTSIDER1"


def parent_blocks(h, thread):
    return json.dumps(h.slack.message(TRIAGE, thread).get("blocks"), ensure_ascii=False)


def audit_texts(h, thread):
    return [m["text"] for m in h.thread_messages(thread) if not m.get("username")]


def conv(h, user=HANAKO):
    return h.conv(user)


def test_raising_hand_reaction_claims_and_removing_it_unclaims(h):
    thread = open_thread(h)
    first = h.thread_messages(thread)[0]
    h.slack_sender.reaction(STAFF, TRIAGE, first["ts"], "raising_hand")
    assert wait_until(lambda: conv(h).assignee == STAFF)
    assert wait_until(lambda: f"<@{STAFF}>" in parent_blocks(h, thread))
    assert wait_until(lambda: any("担当になりました" in t for t in audit_texts(h, thread)))
    h.slack_sender.reaction(STAFF, TRIAGE, first["ts"], "raising_hand", removed=True)
    assert wait_until(lambda: conv(h).assignee == "")
    assert wait_until(lambda: "未割り当て" in parent_blocks(h, thread))


def test_claim_marks_the_friends_messages_read_and_shows_loading_on_line(h):
    thread = open_thread(h)
    h.settle()
    assert h.line.marked_as_read == []  # not when the webhook arrived: only when a person takes it
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "raising_hand")
    assert wait_until(lambda: h.line.marked_as_read)
    assert wait_until(lambda: h.line.loading_animations)
    assert h.line.loading_animations[0][0] == HANAKO


def test_mark_emoji_and_check_mark_set_marks_and_resolve(h):
    thread = open_thread(h)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "rage")
    assert wait_until(lambda: conv(h).mark == "complaint")
    assert wait_until(lambda: "クレーム" in parent_blocks(h, thread))
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "white_check_mark")
    assert wait_until(lambda: conv(h).mark == "resolved")
    assert conv(h).waiting_since == 0
    assert wait_until(lambda: any("対応済み" in t for t in audit_texts(h, thread)))


def test_parent_buttons_and_selects(h):
    thread = open_thread(h)
    h.slack_sender.block_action(STAFF, TRIAGE, thread, "conv_claim", cid(HANAKO))
    assert wait_until(lambda: conv(h).assignee == STAFF)
    h.slack_sender.block_action(STAFF, TRIAGE, thread, "conv_mark", selected_option="question_mid")
    assert wait_until(lambda: conv(h).mark == "question_mid")
    h.slack_sender.block_action(STAFF, TRIAGE, thread, "conv_assign", selected_user=STAFF2)
    assert wait_until(lambda: conv(h).assignee == STAFF2)
    h.slack_sender.block_action(STAFF2, TRIAGE, thread, "conv_resolve", cid(HANAKO))
    assert wait_until(lambda: conv(h).mark == "resolved")
    # The thread's audit lines follow at the channel's pace (a post may wait for its turn in the due set).
    assert wait_until(lambda: any(f"<@{STAFF2}>" in t and "担当者にしました" in t for t in audit_texts(h, thread)))
    assert wait_until(lambda: any("質問(中)" in t for t in audit_texts(h, thread)))


def test_slash_commands_use_the_conversation_number(h):
    open_thread(h)
    number = conv(h).number
    h.slack_sender.command("/claim", f"{number}", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: conv(h).assignee == STAFF)
    h.slack_sender.command("/mark", f"#{number} 質問（中）", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: conv(h).mark == "question_mid")
    h.slack_sender.command("/assign", f"{number} <@{STAFF2}|suzuki>", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: conv(h).assignee == STAFF2)
    h.slack_sender.command("/resolve", f"{number}", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: conv(h).mark == "resolved")
    assert wait_until(lambda: len(h.slack.ephemerals(user=STAFF)) >= 4)  # each command is answered, privately


def test_slash_command_errors_are_answered_at_once(h):
    open_thread(h)
    resp = h.slack_sender.command("/claim", "999", user_id=STAFF, channel_id=TRIAGE)
    assert "#999" in resp.json()["text"]
    resp = h.slack_sender.command("/mark", f"{conv(h).number} 存在しないマーク", user_id=STAFF, channel_id=TRIAGE)
    assert "存在しないマーク" in resp.json()["text"] and "クレーム" in resp.json()["text"]
    resp = h.slack_sender.command("/claim", "", user_id=STAFF, channel_id=TRIAGE)
    assert "/claim 12" in resp.json()["text"]


def test_message_shortcut_opens_the_same_actions(h):
    thread = open_thread(h)
    msg = h.thread_messages(thread)[0]
    h.slack_sender.message_shortcut("conversation_actions", STAFF, TRIAGE, msg["ts"])
    assert wait_until(lambda: h.slack.calls_for("views.open"))
    view_id = list(h.slack.views)[0]
    view = h.slack.views[view_id]
    assert view["private_metadata"] == cid(HANAKO)
    h.slack_sender.view_submission(STAFF, view, {
        "quick": {"quick": {"type": "checkboxes", "selected_options": [{"value": "claim"}]}},
        "mark": {"mark": {"type": "static_select", "selected_option": {"value": "inquiry"}}},
        "assignee": {"assignee": {"type": "users_select", "selected_user": None}},
    })
    assert wait_until(lambda: conv(h).assignee == STAFF and conv(h).mark == "inquiry")


def test_changes_by_non_members_are_refused_with_an_explanation(h):
    thread = open_thread(h)
    h.slack_sender.reaction(OUTSIDER, TRIAGE, thread, "raising_hand")
    # Slack cannot show an ephemeral in a channel to a non-member: the explanation goes to the app DM.
    dm = h.slack.dm_channel(OUTSIDER)
    assert wait_until(lambda: h.slack.messages(dm))
    assert "メンバー" in h.slack.messages(dm)[0]["text"]
    h.slack_sender.block_action(OUTSIDER, TRIAGE, thread, "conv_claim", cid(HANAKO))
    assert wait_until(lambda: any("メンバー" in e.get("text", "") for e in h.slack.ephemerals(user=OUTSIDER)))
    h.settle()
    assert conv(h).assignee == ""


def test_friend_writing_after_resolved_reopens_in_the_same_thread_and_is_broadcast(h):
    thread = open_thread(h)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "white_check_mark")
    assert wait_until(lambda: conv(h).mark == "resolved")
    h.friend_says(HANAKO, "すみません、もう一つ質問です")
    assert wait_until(lambda: conv(h).mark == "needs_reply")
    assert conv(h).waiting_since > 0
    assert len(h.slack.messages(TRIAGE, None)) >= 1
    assert h.conv(HANAKO).thread_ts == thread
    # The mark changes when the message is noted, before its Slack post (bridge.relay.batch): wait for the post.
    broadcast = lambda: [m for m in h.slack.messages(TRIAGE) if m.get("subtype") == "thread_broadcast"]  # noqa: E731
    assert wait_until(lambda: broadcast() and "もう一つ質問" in broadcast()[0]["text"])


def test_friend_message_keeps_a_more_specific_open_mark(h):
    thread = open_thread(h)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "rage")
    assert wait_until(lambda: conv(h).mark == "complaint")
    h.friend_says(HANAKO, "まだですか？")
    assert wait_until(lambda: conv(h).last_message_preview == "まだですか？")
    assert conv(h).mark == "complaint"


def test_pending_lists_urgent_marks_first_then_longest_waiting(h):
    now = time.time()
    for user, ago in ((HANAKO, 3600), (TARO, 7200)):
        event = h.webhooks.text(user, f"{user[:3]} が待っています")
        event["timestamp"] = int((now - ago) * 1000)
        h.send_line(event)
    h.line.add_user("U" + "3" * 32, "クレーム 太郎")
    h.friend_says("U" + "3" * 32, "怒っています")
    thread3 = h.thread_of("U" + "3" * 32)
    h.thread_of(HANAKO), h.thread_of(TARO)
    h.slack_sender.reaction(STAFF, TRIAGE, thread3, "rage")
    assert wait_until(lambda: conv(h, "U" + "3" * 32).mark == "complaint")
    resp = h.slack_sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE)
    body = json.dumps(resp.json()["blocks"], ensure_ascii=False)
    order = [body.index(name) for name in ("クレーム 太郎", "Taro Tanaka", "山田 花子")]
    assert order == sorted(order)
    assert "/archives/" + TRIAGE in body


def test_pending_filters(h):
    open_thread(h, HANAKO)
    open_thread(h, TARO)
    h.slack_sender.reaction(STAFF, TRIAGE, h.thread_of(TARO), "raising_hand")
    assert wait_until(lambda: conv(h, TARO).assignee == STAFF)
    mine = json.dumps(h.slack_sender.command("/pending", "mine", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)
    assert "Taro Tanaka" in mine and "山田 花子" not in mine
    unassigned = json.dumps(h.slack_sender.command("/pending", "unassigned", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)
    assert "山田 花子" in unassigned and "Taro Tanaka" not in unassigned
    bad = h.slack_sender.command("/pending", "whatever", user_id=STAFF, channel_id=TRIAGE).json()
    assert "whatever" in bad["text"]


def test_pending_is_only_for_the_triage_team(h):
    open_thread(h)
    resp = h.slack_sender.command("/pending", "", user_id=OUTSIDER, channel_id="COTHER01").json()
    assert "メンバー" in resp["text"] and "山田 花子" not in json.dumps(resp, ensure_ascii=False)


def test_pending_pages_with_a_more_button(h):
    users = [f"U{i:032x}" for i in range(1, 24)]
    for u in users:
        h.line.add_user(u, f"友だち{u[-2:]}")
        h.friend_says(u, "hi")
    # 23 thread parents + 23 messages, paced at Slack's ~1 post/s per channel
    assert wait_until(lambda: h.store.r.zcard(h.store.keys.backlog_all(account="default")) == 23, timeout=120)
    first = h.slack_sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE).json()
    more = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "pending_more"]
    assert more
    msg_ts = h.slack.messages(TRIAGE)[0]["ts"]
    h.slack_sender.block_action(STAFF, TRIAGE, msg_ts, "pending_more", more[0]["value"])
    assert wait_until(lambda: h.slack.ephemerals(user=STAFF) or h.slack.responses)
    page2 = json.dumps(h.slack.responses[-1], ensure_ascii=False)
    assert "友だち" in page2


def test_renamed_marks_from_config_keep_conversations(h, bridge_env, tmp_path):
    # A team renames クレーム to ご不満 in its bridge.toml and restarts: conversations keep their
    # mark (the key is stored), and /pending shows the new name.
    from bridge.settings import Settings
    from emulators.server import serve_in_thread
    from emulators.slack_events import SlackEventSender
    from tests.conftest import ROOT, SLACK_SECRET

    thread = open_thread(h)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "rage")
    assert wait_until(lambda: conv(h).mark == "complaint")
    config = tmp_path / "bridge.toml"
    text = (ROOT / "bridge.example.toml").read_text(encoding="utf-8")
    assert 'ja = "クレーム"' in text
    config.write_text(text.replace('ja = "クレーム"', 'ja = "ご不満"'), encoding="utf-8")
    server = serve_in_thread(ready_app(Settings.from_env({**bridge_env, "BRIDGE_CONFIG": str(config)})))
    try:
        sender = SlackEventSender(server.url + "/slack/events", h.slack, signing_secret=SLACK_SECRET)
        body = json.dumps(sender.command("/pending", "ご不満", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)
        assert "山田 花子" in body and "ご不満" in body and "クレーム" not in body
    finally:
        server.stop()
    assert conv(h).mark == "complaint"


def test_broken_config_stops_start_up_naming_the_line(bridge_env, tmp_path):
    import os
    import subprocess
    import sys

    config = tmp_path / "bridge.toml"
    config.write_text('[[marks]]\nkey = "a"\nja = "A"\nemoji = "x"\npriority = 1\nstate = "sideways"\n', encoding="utf-8")
    env = {**os.environ, **bridge_env, "BRIDGE_CONFIG": str(config)}
    web = subprocess.run([sys.executable, "-c", "from handlers.app import create_app; create_app()"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert web.returncode == 2 and "bridge.toml:" in web.stderr and "state" in web.stderr


def test_writing_a_reply_button_shows_the_loading_animation_for_a_minute(h):
    thread = open_thread(h)
    h.slack_sender.block_action(STAFF, TRIAGE, thread, "conv_typing", cid(HANAKO))
    assert wait_until(lambda: (HANAKO, 60) in h.line.loading_animations)
    assert conv(h).assignee == ""  # nothing else changes


def test_group_threads_have_no_loading_button(h):
    group = "C" + "c" * 32
    h.line.add_group(group, "グループ", members={TARO: "Taro Tanaka"})
    h.send_line(h.webhooks.text(group, "hi", source_type="group", user_id=TARO))
    thread = h.thread_of(group)
    assert wait_until(lambda: h.slack.message(TRIAGE, thread).get("blocks"))
    assert "conv_typing" not in parent_blocks(h, thread)
    assert "conv_typing" in json.dumps(parent_message_for(h, HANAKO), ensure_ascii=False)


def parent_message_for(h, user):
    open_thread(h, user)
    return h.slack.message(TRIAGE, h.thread_of(user)).get("blocks")


def test_pending_speaks_english_when_configured(h, settings):
    from bridge.settings import Settings
    from emulators.server import serve_in_thread
    from emulators.slack_events import SlackEventSender
    from tests.conftest import SLACK_SECRET

    open_thread(h)
    server = serve_in_thread(ready_app(replace(settings, language="en")))
    try:
        sender = SlackEventSender(server.url + "/slack/events", h.slack, signing_secret=SLACK_SECRET)
        body = json.dumps(sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)
        assert "pending" in body and "Needs reply" in body and "要対応" not in body
        err = sender.command("/claim", "999", user_id=STAFF, channel_id=TRIAGE).json()["text"]
        assert err == "There is no conversation #999."
    finally:
        server.stop()


def test_a_reaction_on_a_message_the_relay_is_still_linking_is_not_lost(h):
    """Slack may deliver a reaction before the worker recorded which conversation the message
    belongs to; the change waits for the link instead of being dropped."""
    thread = open_thread(h)
    message = h.thread_messages(thread)[0]
    link = h.store.keys.slack_msg(channel=TRIAGE, ts=message["ts"])
    assert wait_until(lambda: h.store.r.exists(link))  # linked right after the post
    saved = h.store.r.hgetall(link)
    h.store.r.delete(link)                                      # as if the worker had not linked it yet
    h.slack_sender.reaction(STAFF, TRIAGE, message["ts"], "raising_hand")
    h.store.r.hset(link, mapping=saved)                         # ... and now it has
    assert wait_until(lambda: conv(h).assignee == STAFF)
