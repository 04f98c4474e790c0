"""Forgetting a friend (#18): an admin deletes one friend's personal data everywhere the bridge keeps it.

Driven as people do it: the 友だち情報 modal's admin button and its confirmation modal in Slack, and
``python -m bridge.admin forget``. Afterwards every key and value of the namespace is scanned for the
friend's LINE id, conversation id, name and words, and every file of the media archive is listed.
"""
from __future__ import annotations

import dataclasses
import json

import pytest

from bridge.archive.media import MediaArchive
from bridge.runtime import Runtime
from bridge.store import archive as archive_refs
from bridge.store.messages import transcript_add
from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, cid, wait_until
from tests.helpers import open_thread
from tests.test_friends import open_friend_modal, submit

SECRET_WORDS = ("駐車場はありますか", "はい、ございます", "A-7777", "秘密のメモ", "山田", "花子")


@pytest.fixture()
def rt(settings):
    return Runtime(settings)


def everything(r, prefix: str) -> list[tuple[str, str]]:
    """(key, text) for every key of the namespace: its name and each of its values and fields."""
    out = []
    for key in r.scan_iter(match=prefix + "*", count=1000):
        kind = r.type(key)
        if kind == "string":
            values = [r.get(key) or ""]
        elif kind == "hash":
            values = [x for kv in r.hgetall(key).items() for x in kv]
        elif kind == "list":
            values = r.lrange(key, 0, -1)
        elif kind == "set":
            values = list(r.smembers(key))
        elif kind == "zset":
            values = [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        out.append((key, key))
        out += [(key, v) for v in values]
    return out


def shown(resp) -> str:
    """What Slack shows of a view submission's answer (the modal it updates to)."""
    return json.dumps(resp.json(), ensure_ascii=False) if resp.text else ""


def traces(h, needles) -> list[tuple[str, str]]:
    return [(key, text[:120]) for key, text in everything(h.store.r, h.store.keys.prefix)
            if any(n in text for n in needles)]


def archive_media(rt, conv_id: str, content: bytes, at: float) -> str:
    """What the archive's recorder does for a friend's photo: the file, an entry referring to it, the reference."""
    meta = rt.archive.put(content, "image/jpeg")
    transcript_add(rt.store, conv_id, at, {"id": f"line:m{meta['sha256'][:8]}", "t": at, "dir": "in", "kind": "image",
                                           "author": conv_id.partition("-")[2], "media": [meta]})
    archive_refs.add_refs(rt.store, conv_id, [meta["sha256"]])
    return meta["sha256"]


def photo_of(h, line_id: str) -> str:
    """The archived photo of the friend's image message ("" until it is recorded)."""
    for raw in h.store.r.zrange(h.store.keys.transcript(conv_id=cid(line_id)), 0, -1):
        for m in json.loads(raw).get("media") or []:
            return m["sha256"]
    return ""


def open_forget_modal(h, user, conv_id):
    before = set(h.slack.views)
    h.slack_sender.block_action(user, TRIAGE, h.conv(HANAKO).thread_ts, "friend_forget", conv_id)
    assert wait_until(lambda: set(h.slack.views) - before)
    return h.slack.views[(set(h.slack.views) - before).pop()]


def test_an_admin_forgets_a_friend_from_slack_and_no_trace_is_left(h, rt):
    thread = open_thread(h, HANAKO, "駐車場はありますか？")
    open_thread(h, TARO, "こんにちは")
    h.staff_says(thread, "はい、ございます")
    assert wait_until(lambda: "はい、ございます" in h.line.delivered_texts(HANAKO))
    h.staff_says(thread, "彼女のクーポンは来週", user=STAFF2)   # a staff member's own message in the thread
    submit(h, open_friend_modal(h, thread), member_no="A-7777", tags="VIP", note="秘密のメモ")
    assert wait_until(lambda: h.store.r.hget(h.store.keys.friend(conv_id=cid(HANAKO)), "note") == "秘密のメモ")
    assert h.send_line(h.webhooks.image(HANAKO, data=b"\xff\xd8\xff\xe0hanako's receipt")).status_code == 200
    assert wait_until(lambda: photo_of(h, HANAKO), timeout=20)                # archived as it passed through
    sent_photo = photo_of(h, HANAKO)
    hanako_only = archive_media(rt, cid(HANAKO), b"hanako's other photo", 1.0)
    shared = archive_media(rt, cid(HANAKO), b"the shop's map", 2.0)
    assert archive_media(rt, cid(TARO), b"the shop's map", 3.0) == shared
    old = h.conv(HANAKO)
    h.settle()
    assert traces(h, [HANAKO]), "the scan finds the friend before"

    # the button is in the 友だち情報 modal of an admin; it asks first
    view = open_friend_modal(h, thread)
    assert any(e.get("action_id") == "friend_forget" for b in view["blocks"] for e in b.get("elements") or [])
    confirm = open_forget_modal(h, STAFF, old.conv_id)
    assert confirm["callback_id"] == "friend_forget_modal" and "元に戻せません" in json.dumps(confirm, ensure_ascii=False)
    resp = h.slack_sender.view_submission(STAFF, confirm, {"slack_posts": {"slack_posts": {
        "type": "checkboxes", "selected_options": [{"value": "yes"}]}}})
    assert resp.status_code == 200 and "削除しています" in shown(resp)
    assert wait_until(lambda: h.store.r.llen(h.store.keys.forgotten()) == 1, timeout=30)
    h.settle()

    # Redis: nothing names the friend, nothing holds their words
    assert traces(h, [HANAKO, old.conv_id, *SECRET_WORDS]) == []
    # the archive: the file only they referred to is gone, the shared one stays (Taro's history)
    archive = MediaArchive(rt.settings.archive_dir)
    files = set(archive.walk()) | set(archive.spooled())
    assert hanako_only not in files and sent_photo not in files and shared in files
    assert archive_refs.refs(rt.store, shared) == {cid(TARO)}
    # Slack: the bridge's posts are deleted (parent included); staff members' own messages are not (the bot cannot)
    left = h.slack.messages(TRIAGE, thread)
    assert [m.get("user") for m in left] == [STAFF, STAFF2]
    assert h.slack.message(TRIAGE, thread).get("subtype") == "tombstone"   # as Slack shows a deleted parent with replies
    in_slack = json.dumps(h.slack.messages(TRIAGE) + left, ensure_ascii=False)
    assert "駐車場はありますか" not in in_slack and "山田" not in in_slack and "A-7777" not in in_slack
    told = [e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF) if "削除しました" in e["text"]]
    assert told and "2 件は削除できない" in told[0] and f"#{old.number}" in told[0]
    # the audit: who, when, how — no content
    audit = h.store.r.lrange(h.store.keys.forgotten(), 0, -1)
    record = json.loads(audit[0])
    assert record["by"] == STAFF and record["via"] == "slack" and record["at"] > 0 and record["files"] == 2
    # Taro is untouched
    assert h.conv(TARO) is not None and h.store.get_by_number(h.conv(TARO).number).conv_id == cid(TARO)
    assert h.store.r.zcard(h.store.keys.transcript(conv_id=cid(TARO))) >= 1

    # the friend writes again: a new conversation, a new number, nothing of before
    again = open_thread(h, HANAKO, "また質問です")
    new = h.conv(HANAKO)
    assert again != thread and new.number > max(old.number, h.conv(TARO).number)
    assert h.store.get_by_number(old.number) is None
    assert not h.store.r.exists(h.store.keys.friend(conv_id=cid(HANAKO)))
    assert not any("駐車場" in text for _, text in everything(h.store.r, h.store.keys.prefix))


def test_forgetting_without_the_slack_posts_leaves_slack_as_it_is(h, rt):
    thread = open_thread(h, HANAKO, "駐車場はありますか？")
    number = h.conv(HANAKO).number
    confirm = open_forget_modal(h, STAFF, cid(HANAKO))
    assert h.slack_sender.view_submission(STAFF, confirm, {"slack_posts": {"slack_posts": {
        "type": "checkboxes", "selected_options": []}}}).status_code == 200
    assert wait_until(lambda: h.conv(HANAKO) is None and h.store.r.llen(h.store.keys.forgotten()) == 1, timeout=30)
    assert h.slack.message(TRIAGE, thread), "the parent stays in Slack"
    assert wait_until(lambda: any(f"#{number}" in e["text"] and "そのまま" in e["text"]
                                  for e in h.slack.ephemerals(TRIAGE, STAFF)))   # told once done
    h.settle()
    assert traces(h, [HANAKO, "駐車場はありますか"]) == []


def test_a_non_admin_is_refused_in_slack(h, rt):
    thread = open_thread(h, HANAKO, "駐車場はありますか？")
    view = open_friend_modal(h, thread, user=STAFF2)          # a member, not an admin: no button
    assert not any(b.get("block_id") == "forget" for b in view["blocks"])
    refused = open_forget_modal(h, STAFF2, cid(HANAKO))       # the action sent anyway is refused
    assert "管理者" in json.dumps(refused, ensure_ascii=False) and refused.get("callback_id") != "friend_forget_modal"
    confirm = open_forget_modal(h, STAFF, cid(HANAKO))        # an admin's confirmation modal, submitted by someone else
    resp = h.slack_sender.view_submission(STAFF2, confirm, {})
    assert "管理者" in shown(resp)
    h.settle()
    assert h.conv(HANAKO) is not None and h.store.r.llen(h.store.keys.forgotten()) == 0


def test_the_admin_command_asks_first_then_forgets(h, rt, capsys):
    from bridge.privacy.cli import main

    open_thread(h, HANAKO, "駐車場はありますか？")
    number = h.conv(HANAKO).number
    assert main(lambda: rt, [f"#{number}"], ask=lambda prompt: "no") == 1
    assert h.conv(HANAKO) is not None and "nothing deleted" in capsys.readouterr().out
    assert main(lambda: rt, [HANAKO, "--yes", "--by", "ops"]) == 0   # by LINE id
    assert "deleted:" in capsys.readouterr().out
    assert h.conv(HANAKO) is None
    record = h.store.r.lrange(h.store.keys.forgotten(), 0, -1)
    assert [json.loads(x)["by"] for x in record] == ["cli:ops"]
    h.settle()
    assert traces(h, [HANAKO, "駐車場はありますか"]) == []
    assert main(lambda: rt, [f"#{number}", "--yes"]) == 1               # gone: nothing to find


@pytest.fixture()
def own(settings, tmp_path):
    """A runtime on a namespace of its own, without workers: the Redis side of forget called directly."""
    import uuid

    runtime = Runtime(dataclasses.replace(settings, namespace="fg" + uuid.uuid4().hex[:8], archive_dir=str(tmp_path)))
    yield runtime
    runtime.store.delete_namespace()


def test_queued_work_dead_letters_forward_copies_and_stats_of_the_friend_go_the_rest_stays(own):
    import base64

    from bridge.engine import work
    from bridge.model import Conversation

    r, keys, forgets = own.redis, own.keys, own.stores.forget
    hanako, taro = cid(HANAKO), cid(TARO)
    for conv_id, line_id in ((hanako, HANAKO), (taro, TARO)):
        own.store.ensure_conversation(Conversation(conv_id, "user", 0, line_id=line_id, name=line_id[:3], channel=TRIAGE,
                                                   thread_ts=f"17000000{line_id[1]}.000100"))
    thread = f"{TRIAGE}-170000001.000100"

    def webhook(line_id: str) -> str:
        body = base64.b64encode(json.dumps({"events": [{"source": {"userId": line_id}}]}).encode()).decode()
        return json.dumps({"id": line_id[:4], "kind": work.FORWARD, "payload": {"body": body}})

    r.rpush(keys.inbox(stream="fwd-default-abc"), webhook(HANAKO), webhook(TARO))            # the forward queue's copies
    own.store.add_dead_letter({"id": "x1", "stream": work.line_stream(hanako), "payload": {"text": "秘密"}}, "failed", 1.0)
    own.store.add_dead_letter({"id": "x2", "stream": work.line_stream(taro), "payload": {}}, "failed", 1.0)
    own.inbox.accept_later(60, "slack", "held-1", f"slack-{thread}", work.SLACK_MESSAGE, {"text": "送信待ちの返信"})
    r.set(keys.dedupe(origin="slack-op", event_id=f"claim-{hanako}"), "1")                 # a dedupe key carrying the id
    r.rpush(keys.broadcast_recipients(bid="b1"), HANAKO, TARO)
    own.stores.automation.record_stat("default", "response", {"conv": hanako, "staff": STAFF, "from": 1.0}, 5.0)
    own.stores.automation.record_stat("default", "response", {"conv": taro, "staff": STAFF, "from": 2.0}, 6.0)
    r.rpush(keys.inbox(stream=work.line_stream(hanako)), json.dumps({"id": "later", "kind": "line_event"}))  # its own stream

    result = forgets.forget(hanako, HANAKO, keep_stream=work.line_stream(hanako))

    left = everything(r, keys.prefix)
    named = [(k, v[:80]) for k, v in left if (HANAKO in v or "170000001.000100" in v or "秘密" in v or "送信待ち" in v)
             and k != keys.inbox(stream=work.line_stream(hanako))]
    assert named == []
    forwarded = r.lrange(keys.inbox(stream="fwd-default-abc"), 0, -1)
    assert forwarded == [webhook(TARO)]                                       # the other friend's webhook stays
    assert [d["id"] for d in own.store.dead_letters()] == ["x2"]
    assert r.lrange(keys.broadcast_recipients(bid="b1"), 0, -1) == [TARO]
    responses = own.stores.automation.stats_between("default", "response", 0, 10)
    assert len(responses) == 2 and sum(taro in m for m, _ in responses) == 1  # counted still, without the friend
    assert own.store.get_conversation(taro) is not None and own.store.get_by_number(1) is None
    assert r.llen(keys.inbox(stream=work.line_stream(hanako))) == 1          # the work after it is untouched
    assert result.anonymised == 1
    again = forgets.forget(hanako, HANAKO, keep_stream=work.line_stream(hanako))   # idempotent
    assert again.summary() == {"keys": 0, "members": 0, "anonymised": 0, "media": 0}


def test_the_admin_is_told_the_friend_was_forgotten_even_when_slack_makes_that_answer_wait(h, rt):
    """Everything is deleted, then the admin is told (an ephemeral). When Slack refuses that answer
    (429), the retry used to find the friend forgotten and stop: the admin was never told. Now the
    retry resumes at the answer, with the number and counts kept from the deletion."""
    open_thread(h, HANAKO, "駐車場はありますか？")
    number = h.conv(HANAKO).number
    confirm = open_forget_modal(h, STAFF, cid(HANAKO))
    h.slack.fail_next("chat.postEphemeral", 429, retry_after=1)  # the answer has to wait
    assert h.slack_sender.view_submission(STAFF, confirm, {"slack_posts": {"slack_posts": {
        "type": "checkboxes", "selected_options": []}}}).status_code == 200
    told = lambda: [e for e in h.slack.ephemerals(TRIAGE, STAFF) if f"#{number}" in e["text"] and "そのまま" in e["text"]]  # noqa: E731
    assert wait_until(told, timeout=30)
    h.settle()
    assert [c.status for c in h.slack.calls_for("chat.postEphemeral")].count(429) == 1  # it did wait
    assert len(told()) == 1 and h.conv(HANAKO) is None
    assert h.store.r.llen(h.store.keys.forgotten()) == 1          # forgotten once
    assert traces(h, [HANAKO, "駐車場はありますか"]) == []
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done
