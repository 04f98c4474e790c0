"""CSV (formula) injection: names, messages and 友だち情報 that start like a formula reach Excel as text.

A friend chooses their own LINE name and writes the messages; staff type 友だち情報. Every CSV the
bridge writes (the /export transcript, the friend CSV) puts ``'`` before a cell starting with
``=``, ``+``, ``-``, ``@``, tab or CR (OWASP); the friend CSV import takes exactly that ``'`` off again.
"""
from __future__ import annotations

import csv
import io
import json

from bridge.store.friends import FriendStore
from tests.conftest import STAFF, TRIAGE, cid, wait_until
from tests.test_admin import admin
from tests.test_export import export_with, file_text
from tests.test_friends import edit_friend

FORMULA = '=HYPERLINK("https://evil.example","x")'
EVIL = "U" + "e" * 32


def test_export_writes_formula_names_and_messages_as_text(h):
    h.line.add_user(EVIL, FORMULA)
    h.friend_says(EVIL, FORMULA)
    thread = h.thread_of(EVIL)
    h.friend_says(EVIL, "-1+2")
    assert wait_until(lambda: len(h.thread_messages(thread)) >= 1)  # (the first message is the parent)
    h.staff_says(thread, "@here 確認します")
    assert wait_until(lambda: h.line.delivered_texts(EVIL))
    h.slack_sender.command("/export", str(h.conv(EVIL).number), user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: export_with(h, STAFF, "@here 確認します"), timeout=20)
    message = export_with(h, STAFF, "@here 確認します")
    rows = list(csv.DictReader(io.StringIO(file_text(h, message, ".csv"))))
    assert [r["text"] for r in rows] == ["'" + FORMULA, "'-1+2", "'@here 確認します"]
    assert {r["name"] for r in rows} == {"'" + FORMULA}
    assert rows[0]["author_name"] == "'" + FORMULA
    for row in rows:  # no cell of the file starts like a formula
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values()), row
    # the JSON file is data, not a spreadsheet: exactly what was written
    assert [json.loads(line)["text"] for line in file_text(h, message, ".jsonl").splitlines()] == [FORMULA, "-1+2", "@here 確認します"]


def test_friend_csv_neutralises_formulas_and_imports_them_back_unchanged(h, bridge_env, tmp_path):
    h.line.add_user(EVIL, FORMULA)
    h.friend_says(EVIL, "こんにちは")
    h.thread_of(EVIL)
    edit_friend(h, EVIL, member_no=FORMULA, note="+81 90 0000 0000", tags="@VIP")
    friends = FriendStore(h.store.r, h.store.keys)
    saved = friends.get(cid(EVIL))
    assert saved.fields["member_no"] == FORMULA
    out = tmp_path / "friends.csv"
    assert admin(bridge_env, "friends", "export", "--out", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["member_no"] == "'" + FORMULA and rows[0]["name"] == "'" + FORMULA
    assert rows[0]["note"] == "'+81 90 0000 0000" and rows[0]["tags"] == "'@VIP"
    for row in rows:
        assert not any((v or "").startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values()), row
    # importing the exported file as it is changes nothing (no quote added per round trip)
    result = admin(bridge_env, "friends", "import", str(out))
    assert result.returncode == 0, result.stderr
    again = friends.get(cid(EVIL))
    assert again.fields["member_no"] == FORMULA and again.note == saved.note and again.tags == saved.tags
    out2 = tmp_path / "friends2.csv"
    assert admin(bridge_env, "friends", "export", "--out", str(out2)).returncode == 0
    assert out2.read_text(encoding="utf-8-sig") == text
