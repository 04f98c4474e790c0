"""The complete archive (#18): every kind of message of a conversation, both ways, recorded once and in
order, with its media in the media archive; and an archive that is down delays nothing and catches up."""
from __future__ import annotations

import hashlib
import json

import pytest

from bridge.archive.health import ArchiveFlusher, describe
from bridge.archive.media import MediaArchive
from bridge.friends.export import rows
from bridge.friends.segment import Segment
from bridge.store.archive import migrate_transcripts, refs
from tests.conftest import HANAKO, STAFF, TRIAGE, cid
from tests.helpers import RecordingQueue, in_process_domain

PHOTO = b"\xff\xd8\xff\xe0" + b"photo-of-a-receipt" * 100
PDF = b"%PDF-1.4 the estimate"
STAFF_IMAGE = b"\x89PNG\r\n\x1a\n" + b"map" * 200


@pytest.fixture()
def arch(ip):
    """The in-process domain with a queue the test runs (staff files go to the archive as their own work)."""
    ip.queue = RecordingQueue()
    ip.domain = in_process_domain(ip.rt, ip.queue)
    return ip


def archive_entries(ip, line_id=HANAKO) -> list[dict]:
    return [json.loads(m) for m in ip.store.r.zrange(ip.store.keys.transcript(conv_id=cid(line_id)), 0, -1)]


def run_queued(ip, kind: str) -> int:
    items = [q for q in ip.queue.now if q[3] == kind]
    ip.queue.now = [q for q in ip.queue.now if q[3] != kind]
    for _origin, _event_id, _stream, k, payload in items:
        ip.process(k, payload)
    return len(items)


def staff_message(ip, thread: str, text: str, files=()) -> dict:
    message = ip.slack.add_user_message(TRIAGE, STAFF, text, thread_ts=thread, files=list(files) or None)
    ip.process(ip.work.SLACK_MESSAGE, {"channel": TRIAGE, "ts": message["ts"], "thread_ts": thread, "user": STAFF,
                                       "text": text, "files": list(files)}, origin="slack")
    return message


def test_a_conversation_with_every_kind_of_message_is_complete_and_in_order(arch):
    ip = arch
    first = ip.friend_says(HANAKO, "明日10時に伺います")
    thread = ip.conv(HANAKO).thread_ts
    photo = ip.webhooks.image(HANAKO, data=PHOTO)
    ip.line_event(photo)
    ip.line_event(ip.webhooks.file(HANAKO, "見積書.pdf", data=PDF))
    ip.line_event(ip.webhooks.sticker(HANAKO))
    ip.line_event(ip.webhooks.location(HANAKO))
    ip.friend_says(HANAKO, "営業時間を教えて")                              # → an auto-reply
    reply = staff_message(ip, thread, "ご連絡ありがとうございます")
    staff_message(ip, thread, "!hours")                                        # a 定型文
    slack_file = ip.slack.add_file(STAFF_IMAGE, "地図.png", mimetype="image/png", user=STAFF)
    staff_message(ip, thread, "地図です", files=[slack_file])
    staff_message(ip, thread, "// 常連さん、駐車場の件は確認中")             # an internal note
    # the friend edits a message and unsends the photo
    ip.line_event({"type": "messageEdited", "mode": "active", "timestamp": first["timestamp"] + 5000,
                   "webhookEventId": "01EDIT" + first["message"]["id"][-20:].rjust(20, "0"),
                   "deliveryContext": {"isRedelivery": False}, "source": {"type": "user", "userId": HANAKO},
                   "message": {"id": first["message"]["id"], "type": "text", "text": "明日11時に伺います"}})
    ip.line_event(ip.webhooks.unsend(HANAKO, photo["message"]["id"]))
    # a correction of a reply already sent: edited too late, then sent as 【訂正】
    ip.process(ip.work.SLACK_EDIT, {"op": "edit", "channel": TRIAGE, "ts": reply["ts"], "thread_ts": thread,
                                    "text": "ご連絡ありがとうございました", "previous_text": "ご連絡ありがとうございます",
                                    "user": STAFF})
    ip.process(ip.work.SLACK_EDIT, {"op": "correct", "channel": TRIAGE, "ts": reply["ts"], "thread_ts": thread,
                                    "user": STAFF})
    ip.op(cid(HANAKO), "mark", "awaiting_friend")                              # a mark change
    ip.process(ip.work.REMINDER, {"conv_id": cid(HANAKO), "slot": 1.0})          # a 返信待ち reminder
    ip.op(cid(HANAKO), "claim")                                                 # an assignee change
    ip.process(ip.work.BROADCAST, {"bid": "bc1", "segment": Segment(account="default").to_json(),
                                   "text": "年末年始の営業のお知らせ", "actor": STAFF, "channel": TRIAGE})
    assert run_queued(ip, ip.work.ARCHIVE_MEDIA) == 1                           # the staff file, off the relay's path
    ip.rt.archive.flush()

    entries = archive_entries(ip)
    assert [e["t"] for e in entries] == sorted(e["t"] for e in entries)
    assert len({e["id"] for e in entries}) == len(entries)                      # each message once
    summary = [(e["dir"], e["kind"]) for e in entries]
    assert summary == [
        ("in", "text"), ("in", "image"), ("in", "file"), ("in", "sticker"), ("in", "location"), ("in", "text"),
        ("auto", "autoreply"), ("out", "text"), ("out", "canned"), ("out", "text"), ("note", "note"),
        ("out", "correction"), ("event", "mark"), ("auto", "reminder"), ("event", "assignee"), ("auto", "broadcast")]
    by_kind = {e["kind"]: e for e in entries}
    edited, unsent_photo, pdf = entries[0], entries[1], entries[2]
    assert edited["text"] == "明日11時に伺います" and edited["edited"] is True
    assert edited["line_message_id"] == first["message"]["id"] and edited["name"] == "山田 花子"
    assert unsent_photo["unsent"] is True and "media" not in unsent_photo and not unsent_photo["text"]
    photo_sha = hashlib.sha256(PHOTO).hexdigest()
    assert not ip.rt.archive.exists(photo_sha) and photo_sha not in ip.rt.archive.spooled()   # its photo is gone too
    (ref,) = pdf["media"]
    assert ref["sha256"] == hashlib.sha256(PDF).hexdigest() and ref["size"] == len(PDF)
    with ip.rt.archive.open(ref["sha256"]) as f:
        assert f.read() == PDF
    assert refs(ip.store, ref["sha256"]) == {cid(HANAKO)}
    assert entries[6]["text"] == "山田 花子様、営業時間は平日10時〜18時です。" and entries[6]["via"] == "reply"
    assert entries[7]["author"] == STAFF and entries[7]["name"] == "佐藤" and entries[7]["status"] == "sent"
    assert by_kind["canned"]["canned"] == "hours" and "営業時間は10時〜19時です" in by_kind["canned"]["text"]
    (staff_ref,) = entries[9]["media"]
    assert staff_ref["sha256"] == hashlib.sha256(STAFF_IMAGE).hexdigest() and staff_ref["type"] == "image/png"
    assert ip.rt.archive.exists(staff_ref["sha256"])
    assert entries[10]["text"].startswith("// 常連さん")
    assert by_kind["correction"]["text"] == "【訂正】ご連絡ありがとうございました"
    assert by_kind["correction"]["corrects"] == entries[7]["id"]
    assert by_kind["mark"]["text"] and by_kind["assignee"]["text"] == "佐藤"
    assert by_kind["reminder"]["via"] == "push" and "その後いかがでしょうか" in by_kind["reminder"]["text"]
    assert by_kind["broadcast"]["broadcast_id"] == "bc1" and by_kind["broadcast"]["text"] == "年末年始の営業のお知らせ"
    assert HANAKO in ip.store.r.lrange(ip.store.keys.broadcast_recipients(bid="bc1"), 0, -1)  # its own record, with its audience
    # the export reads the same archive
    assert [r["id"] for r in rows(ip.store, iter([cid(HANAKO)]))] == [e["id"] for e in entries]


def test_a_retried_job_records_nothing_twice(arch):
    """Entries are keyed by their stable id: recording again (a retried job) replaces, never duplicates."""
    from bridge.archive.recorder import Recorder
    from bridge.line.events import inbound_from_line

    ip = arch
    event = ip.friend_says(HANAKO, "一度だけ")
    conv = ip.conv(HANAKO)
    history = Recorder(ip.domain.services)
    (entry,) = archive_entries(ip)
    history.friend(conv, inbound_from_line("default", event, "ja"), "山田 花子", entry["slack_ts"], entry["t"])
    history.staff(conv, TRIAGE, "1900000000.000100", STAFF, "はい", status="failed")
    history.staff(conv, TRIAGE, "1900000000.000100", STAFF, "はい", status="sent", via="push")   # retried, then sent
    assert [(e["text"], e.get("status", "")) for e in archive_entries(ip)] == [("一度だけ", ""), ("はい", "sent")]


def test_the_archive_being_down_delays_nothing_and_catches_up(arch, tmp_path):
    ip = arch
    down = tmp_path / "archive"
    down.write_text("not a directory")                      # the archive's store refuses every write
    archive = MediaArchive(str(down / "store"), spool_dir=str(tmp_path / "spool"))
    ip.domain.line_in.media.history.archive = archive
    flusher = ArchiveFlusher(archive, ip.store, ip.rt.slack, ip.rt.accounts, "ja", host="h1")
    ip.friend_says(HANAKO, "写真を送ります")
    ip.line_event(ip.webhooks.image(HANAKO, data=PHOTO))
    assert len(ip.slack.files) >= 1                         # relayed to Slack at once
    sha = hashlib.sha256(PHOTO).hexdigest()
    assert archive_entries(ip)[1]["media"][0]["sha256"] == sha  # recorded, its file waiting in the spool
    result = flusher.flush_round()
    assert result.pending == 1 and result.error
    state = describe(ip.store)
    assert state["failing"] and state["pending"] == 1
    notices = [m["text"] for m in ip.slack.messages(TRIAGE) if m.get("text", "").startswith("🗄️")]
    assert len(notices) == 1 and "保存できません" in notices[0]
    flusher.flush_round()                                   # still down: no second line
    assert len([m for m in ip.slack.messages(TRIAGE) if m.get("text", "").startswith("🗄️")]) == 1
    down.unlink()                                           # the store is back
    result = flusher.flush_round()
    assert (result.moved, result.pending, result.error) == (1, 0, "")
    assert archive.exists(sha) and not describe(ip.store)["failing"]
    notices = [m["text"] for m in ip.slack.messages(TRIAGE) if m.get("text", "").startswith("🗄️")]
    assert len(notices) == 2 and "復旧" in notices[1]


def test_transcripts_from_before_the_archive_are_migrated_once(ip):
    ip.friend_says(HANAKO, "昔のメッセージ")
    key = ip.store.keys.transcript(conv_id=cid(HANAKO))
    ip.store.r.delete(key)
    old_in = {"t": 1000.0, "dir": "in", "author": HANAKO, "name": "山田 花子", "kind": "text", "text": "昔の質問",
              "line_message_id": "111", "slack_ts": "1000.000100"}
    old_out = {"t": 1001.0, "dir": "out", "author": STAFF, "name": "佐藤", "kind": "text", "text": "昔の答え",
               "line_message_id": "", "slack_ts": "1001.000200", "files": ["https://x.slack.com/files/1"]}
    for e in (old_in, old_out):
        ip.store.r.zadd(key, {json.dumps(e, ensure_ascii=False, sort_keys=True): e["t"]})
    ip.store.add_note(cid(HANAKO), STAFF, "// 昔のメモ", "1000.500000", 1000.5)
    ip.store.r.delete(ip.store.keys.migration(name="archive-v1"))
    assert migrate_transcripts(ip.store, 5000.0) >= 1
    assert migrate_transcripts(ip.store, 6000.0) == 0                         # once
    entries = archive_entries(ip)
    assert [(e["id"], e["dir"]) for e in entries] == [("line:111", "in"), (f"slack:{TRIAGE}:1000.500000", "note"),
                                                      (f"slack:{TRIAGE}:1001.000200", "out")]
    assert entries[2]["status"] == "sent" and entries[2]["files"] == ["https://x.slack.com/files/1"]
    assert ip.store.r.hget(ip.store.keys.conv(conv_id=cid(HANAKO)), "history_since") == "1000.0"
