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
    in_thread = [f for m in h.slack.messages(TRIAGE, thread) for f in h.slack.shown_files(m)]
    assert in_thread and all(h.slack.file_content(f) for f in in_thread)

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
    assert all(h.slack.file_content(f) is None for f in in_thread)        # the receipt's upload too, not just its post
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


def test_the_confirmation_is_pushed_on_the_friend_modal_and_submitting_it_forgets_the_friend(h, rt):
    thread = open_thread(h, HANAKO, "駐車場はありますか？")
    number = h.conv(HANAKO).number
    info = open_friend_modal(h, thread)
    before = set(h.slack.views)
    assert h.slack_sender.view_block_action(STAFF, info, "friend_forget").status_code == 200   # the button in the modal
    assert wait_until(lambda: set(h.slack.views) - before)
    confirm = h.slack.views[(set(h.slack.views) - before).pop()]
    pushed = h.slack.calls_for("views.push")
    assert len(pushed) == 1 and not any(c.args.get("view", {}).get("callback_id") == "friend_forget_modal"
                                        for c in h.slack.calls_for("views.open"))
    # on top of the 友だち情報 modal (Back returns to it), not a modal of its own
    assert confirm["root_view_id"] == info["id"] and confirm["previous_view_id"] == info["id"]
    assert confirm["callback_id"] == "friend_forget_modal" and "元に戻せません" in json.dumps(confirm, ensure_ascii=False)
    resp = h.slack_sender.view_submission(STAFF, confirm, {"slack_posts": {"slack_posts": {
        "type": "checkboxes", "selected_options": []}}})
    assert resp.status_code == 200 and "削除しています" in shown(resp)
    assert wait_until(lambda: h.conv(HANAKO) is None and h.store.r.llen(h.store.keys.forgotten()) == 1, timeout=30)
    assert wait_until(lambda: any(f"#{number}" in e["text"] and "削除しました" in e["text"]
                                  for e in h.slack.ephemerals(TRIAGE, STAFF)))
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


GROUP = "C" + "f" * 32


def group_says(h, user_id: str, text: str = "", image: bytes = b"") -> None:
    event = (h.webhooks.image(GROUP, data=image, source_type="group", user_id=user_id) if image
             else h.webhooks.text(GROUP, text, source_type="group", user_id=user_id))
    assert h.send_line(event).status_code == 200


def group_entries(h) -> list[dict]:
    return [json.loads(raw) for raw in h.store.r.zrange(h.store.keys.transcript(conv_id=cid(GROUP)), 0, -1)]


def test_a_forgotten_friend_leaves_no_trace_in_a_group_chat_and_the_other_members_stay(h, rt, bridge_server, settings,
                                                                                       capsys):
    import csv
    import io

    import requests

    from bridge.friends import export
    from bridge.privacy.cli import main
    from tests.test_history_page import page_url, visible_text

    h.line.add_group(GROUP, "駐車場の会", members={HANAKO: "山田 花子", TARO: "Taro Tanaka"})
    open_thread(h, HANAKO, "駐車場はありますか？")                      # the friend's own chat with the account
    group_says(h, TARO, "みなさん、こんにちは")
    h.thread_of(GROUP)
    group_says(h, HANAKO, "花子の秘密の予定は木曜です")
    group_says(h, HANAKO, image=b"\xff\xd8\xff\xe0hanako's photo in the group")
    group_says(h, TARO, image=b"\xff\xd8\xff\xe0taro's photo in the group")
    group_says(h, TARO, "タロウの返事です")

    def photos() -> dict[str, str]:
        return {e["author"]: m["sha256"] for e in group_entries(h) for m in e.get("media") or []}

    assert wait_until(lambda: len(group_entries(h)) == 5 and len(photos()) == 2, timeout=30)
    hanakos_photo, taros_photo = photos()[HANAKO], photos()[TARO]
    archive = MediaArchive(rt.settings.archive_dir)
    assert wait_until(lambda: {hanakos_photo, taros_photo} <= set(archive.walk()) | set(archive.spooled()))
    h.settle()
    assert any("花子の秘密の予定" in text for _, text in everything(h.store.r, h.store.keys.prefix))

    assert main(lambda: rt, [HANAKO, "--yes", "--by", "ops"]) == 0
    h.settle()

    # the group's archive: the other member's messages and photo stay, nothing of the friend
    group = h.conv(GROUP)
    kept = group_entries(h)
    assert [(e["author"], e["kind"]) for e in kept] == [(TARO, "text"), (TARO, "image"), (TARO, "text")]
    assert [kept[0]["text"], kept[2]["text"]] == ["みなさん、こんにちは", "タロウの返事です"]
    out = io.StringIO()
    export.write(export.entries(h.store, iter([group.conv_id])), out, io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["author_name"] for r in rows] == ["Taro Tanaka"] * 3
    assert not any(HANAKO in v or "山田" in v or "花子" in v for r in rows for v in r.values())
    page = requests.get(page_url(bridge_server, settings, group), timeout=10)
    assert page.status_code == 200 and "タロウの返事です" in visible_text(page.text)
    assert f"/media/{taros_photo}" in page.text and f"/media/{hanakos_photo}" not in page.text
    assert not any(s in page.text for s in (HANAKO, "山田", "花子の秘密"))
    # the media archive: the friend's photo is deleted, the other member's is not
    files = set(archive.walk()) | set(archive.spooled())
    assert hanakos_photo not in files and taros_photo in files
    assert archive_refs.refs(rt.store, taros_photo) == {cid(GROUP)} and not archive_refs.refs(rt.store, hanakos_photo)
    # Redis: nothing names the friend or holds their words or name, anywhere
    assert traces(h, [HANAKO, "花子の秘密の予定", "山田", "駐車場はありますか"]) == []
    # the audit counts what went in groups
    record = json.loads(h.store.r.lrange(h.store.keys.forgotten(), 0, -1)[0])
    assert record["group_entries"] == 2 and record["groups"] == 1 and record["files"] == 1
    assert "2 message(s) of theirs in 1 group chat(s)" in capsys.readouterr().out


def test_with_the_slack_posts_the_friends_group_posts_go_and_the_groups_parent_no_longer_shows_them(h, rt):
    h.line.add_group(GROUP, "駐車場の会", members={HANAKO: "山田 花子", TARO: "Taro Tanaka"})
    open_thread(h, HANAKO, "駐車場はありますか？")
    group_says(h, HANAKO, "花子の秘密の予定は木曜です")                # the friend opens the group's thread
    group_thread = h.thread_of(GROUP)
    group_says(h, TARO, "みなさん、こんにちは")
    group_says(h, HANAKO, image=b"\xff\xd8\xff\xe0hanako's photo in the group")
    group_says(h, TARO, "タロウの返事です")
    assert wait_until(lambda: len(group_entries(h)) == 4 and all(e.get("slack_ts") for e in group_entries(h)), timeout=30)
    h.settle()
    parent = json.dumps(h.slack.message(TRIAGE, group_thread), ensure_ascii=False)
    assert "花子の秘密の予定" in parent and "山田 花子" in parent
    [file_id] = [f for m in h.slack.messages(TRIAGE, group_thread) for f in h.slack.shown_files(m)]

    confirm = open_forget_modal(h, STAFF, cid(HANAKO))
    assert h.slack_sender.view_submission(STAFF, confirm, {"slack_posts": {"slack_posts": {
        "type": "checkboxes", "selected_options": [{"value": "yes"}]}}}).status_code == 200
    assert wait_until(lambda: h.store.r.llen(h.store.keys.forgotten()) == 1, timeout=30)
    h.settle()

    in_group = h.slack.messages(TRIAGE, group_thread)
    shown = json.dumps(in_group, ensure_ascii=False)
    assert "みなさん、こんにちは" in shown and "タロウの返事です" in shown     # the other member's posts stay
    assert not any(h.slack.shown_files(m) for m in in_group) and h.slack.file_content(file_id) is None
    assert wait_until(lambda: "花子の秘密" not in json.dumps(h.slack.message(TRIAGE, group_thread), ensure_ascii=False))
    parent = json.dumps(h.slack.message(TRIAGE, group_thread), ensure_ascii=False)
    assert "山田" not in parent and "駐車場の会" in parent                       # still the group's parent
    told = [e["text"] for e in h.slack.ephemerals(TRIAGE, STAFF) if "削除しました" in e["text"]]
    assert told and "グループトーク 1 件でのこの友だちのメッセージ 2 件" in told[0]
    assert traces(h, [HANAKO, "花子の秘密の予定", "山田"]) == []


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
    assert again.summary() == {"keys": 0, "members": 0, "anonymised": 0, "media": 0, "group_entries": 0, "groups": 0}


def test_forgetting_in_a_group_is_complete_when_retried_after_a_crash_and_keeps_a_photo_another_member_sent(own):
    from bridge.archive import entry as E
    from bridge.engine import work

    forgets, group = own.stores.forget, cid(GROUP)

    def say(line_id: str, n: int, text: str = "", photo: dict | None = None) -> None:
        entry = E.make(E.line_id(f"g{n}"), float(n), "in", "image" if photo else "text", author=line_id,
                       name=line_id[:3], text=text, line_message_id=f"g{n}", media=[photo] if photo else None)
        transcript_add(own.store, group, float(n), entry)
        if photo:
            archive_refs.add_refs(own.store, group, [photo["sha256"]])

    same = own.archive.put(b"the same flyer", "image/jpeg")       # both members sent it
    own_photo = own.archive.put(b"hanako's own photo", "image/jpeg")
    say(HANAKO, 1, "秘密の話"), say(HANAKO, 2, photo=same), say(HANAKO, 3, photo=own_photo), say(TARO, 4, photo=same)

    first = forgets.release_media(cid(HANAKO), HANAKO)            # the worker dies before deleting anything…
    assert first == [own_photo["sha256"]]
    assert forgets.release_media(cid(HANAKO), HANAKO) == first    # …the retried item finds the same file to delete
    result = forgets.forget(cid(HANAKO), HANAKO, keep_stream=work.line_stream(cid(HANAKO)))
    assert (result.group_entries, result.groups, result.media) == (3, 1, first)
    left = [json.loads(m) for m in own.redis.zrange(own.keys.transcript(conv_id=group), 0, -1)]
    assert [e["author"] for e in left] == [TARO]
    assert archive_refs.refs(own.store, same["sha256"]) == {group}          # Taro's entry still shows it
    again = forgets.forget(cid(HANAKO), HANAKO, keep_stream=work.line_stream(cid(HANAKO)))
    assert (again.group_entries, again.groups, again.media) == (0, 0, [])      # done: nothing left to find


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
    # The retry's wake-up (the due set names the friend's stream) goes once it has fired.
    assert wait_until(lambda: traces(h, [HANAKO, "駐車場はありますか"]) == [], timeout=15), traces(h, [HANAKO, "駐車場はありますか"])
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done
