"""History export end to end: /export of a conversation with media, uploaded privately as CSV and JSON lines
(and the archived media as a zip when asked)."""
from __future__ import annotations

import csv
import io
import json

from tests.conftest import HANAKO, STAFF, STAFF2, TRIAGE, wait_until

OUTSIDER = "UOUTSIDER1"


def uploads_for(h, user):
    dm = h.slack.dm_channel(user)
    return [m for m in h.slack.messages(dm) if m.get("files")]


def export_with(h, user, text):
    """The export in ``user``'s DM whose CSV holds ``text``, or None. A late upload of an earlier
    test (an export or a chart still in flight when its test ended) may share the DM."""
    for message in uploads_for(h, user):
        if any(f["name"].endswith(".csv") for f in message["files"]) and text in file_text(h, message, ".csv"):
            return message
    return None


def file_text(h, message, ext):
    f = next(f for f in message["files"] if f["name"].endswith(ext))
    return h.slack.files[f["id"]]["content"].decode("utf-8-sig")


def test_export_of_a_conversation_with_media_goes_privately_to_the_requester(h):
    h.friend_says(HANAKO, "駐車場はありますか？")
    thread = h.thread_of(HANAKO)
    assert h.send_line(h.webhooks.image(HANAKO)).status_code == 200
    assert wait_until(lambda: len(h.thread_messages(thread)) >= 1)  # (the first message is the parent)
    h.staff_says(thread, "!hours")
    assert wait_until(lambda: any("営業時間" in x for x in h.line.delivered_texts(HANAKO)))
    number = h.conv(HANAKO).number
    resp = h.slack_sender.command("/export", f"#{number}", user_id=STAFF2, channel_id=TRIAGE).json()
    assert "DM" in resp["text"]
    assert wait_until(lambda: uploads_for(h, STAFF2), timeout=20)
    message = uploads_for(h, STAFF2)[0]
    assert {f["name"].rsplit(".", 1)[1] for f in message["files"]} == {"csv", "jsonl"}
    rows = list(csv.DictReader(io.StringIO(file_text(h, message, ".csv"))))
    assert [r["direction"] for r in rows] == ["in", "in", "out"]
    assert rows[0]["text"] == "駐車場はありますか？" and rows[0]["author_name"] == "山田 花子"
    assert rows[1]["kind"] == "image" and "/archives/" in rows[1]["slack_link"]     # a link to the thread message
    assert rows[1]["media"].startswith("media/") and rows[1]["media"].endswith(".jpg")  # the archived file
    assert rows[2]["author"] == STAFF and "営業時間は10時〜19時です" in rows[2]["text"]  # what was sent (expanded)
    assert rows[2]["kind"] == "canned" and rows[2]["canned"] == "hours" and rows[2]["status"] == "sent"
    assert all(r["time"].endswith("+00:00") for r in rows)
    data = [json.loads(line) for line in file_text(h, message, ".jsonl").splitlines()]
    assert [d["text"] for d in data] == [r["text"] for r in rows]
    assert not uploads_for(h, STAFF)                                               # nobody else got it


def test_export_refusals(h):
    h.friend_says(HANAKO, "こんにちは")
    h.thread_of(HANAKO)
    number = h.conv(HANAKO).number
    assert "メンバー" in h.slack_sender.command("/export", str(number), user_id=OUTSIDER, channel_id="COTHER01").json()["text"]
    assert "管理者" in h.slack_sender.command("/export", "2026-01-01 2026-12-31", user_id=STAFF2, channel_id=TRIAGE).json()["text"]
    assert "使い方" in h.slack_sender.command("/export", "", user_id=STAFF, channel_id=TRIAGE).json()["text"]


def test_admin_exports_a_date_range_of_all_conversations(h):
    h.friend_says(HANAKO, "こんにちは")
    h.thread_of(HANAKO)
    h.slack_sender.command("/export", "2000-01-01 2100-12-31", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: uploads_for(h, STAFF), timeout=20)
    rows = list(csv.DictReader(io.StringIO(file_text(h, uploads_for(h, STAFF)[0], ".csv"))))
    assert [r["text"] for r in rows] == ["こんにちは"]


def test_export_with_media_adds_the_archived_files_as_a_zip(h):
    import hashlib
    import zipfile

    photo = b"\xff\xd8\xff\xe0" + b"receipt" * 300
    h.friend_says(HANAKO, "領収書です")
    thread = h.thread_of(HANAKO)
    assert h.send_line(h.webhooks.image(HANAKO, data=photo)).status_code == 200
    assert wait_until(lambda: len(h.thread_messages(thread)) >= 1)
    number = h.conv(HANAKO).number
    h.slack_sender.command("/export", f"{number} media", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: uploads_for(h, STAFF), timeout=20)
    message = uploads_for(h, STAFF)[0]
    assert {f["name"].rsplit(".", 1)[1] for f in message["files"]} == {"csv", "jsonl", "zip"}
    rows = list(csv.DictReader(io.StringIO(file_text(h, message, ".csv"))))
    zipped = next(f for f in message["files"] if f["name"].endswith(".zip"))
    with zipfile.ZipFile(io.BytesIO(h.slack.files[zipped["id"]]["content"])) as zf:
        assert zf.namelist() == [f"media/{hashlib.sha256(photo).hexdigest()}.jpg"] == [rows[1]["media"]]
        assert zf.read(rows[1]["media"]) == photo
