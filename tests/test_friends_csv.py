"""友だち情報 CSV through the admin CLI: a round trip, and an import rejected as a whole."""
from __future__ import annotations

import csv
import io
import json

from tests.conftest import HANAKO, STAFF, TARO, TRIAGE, cid, wait_until
from tests.test_admin import admin
from tests.test_friends import edit_friend, open_thread

NEW = "U" + "a" * 32


def test_csv_round_trip_and_import_from_another_tool(h, bridge_env, tmp_path):
    open_thread(h, HANAKO)
    edit_friend(h, HANAKO, member_no="A-1001", visit="2026-01-05", tags="VIP, 新規", note="駐車場希望")
    assert wait_until(lambda: h.store.r.exists(h.store.keys.friend(conv_id=cid(HANAKO))))
    out = tmp_path / "friends.csv"
    assert admin(bridge_env, "friends", "export", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["line_id"] == HANAKO and rows[0]["member_no"] == "A-1001" and rows[0]["tags"] == "VIP, 新規"
    assert rows[0]["visit"] == "2026-01-05" and rows[0]["note"] == "駐車場希望"

    # edit in a spreadsheet: change Hanako, add a friend who never wrote (moved from another tool)
    rows[0]["budget"] = "80,000"
    rows[0]["tags"] = "VIP"
    rows.append({**{k: "" for k in rows[0]}, "account": "default", "line_id": NEW, "name": "新しい 友だち",
                 "member_no": "C-3003", "wish": "売買", "tags": "移行"})
    edited = tmp_path / "edited.csv"
    with open(edited, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = admin(bridge_env, "friends", "import", str(edited))
    assert result.returncode == 0, result.stderr
    assert "1 new conversation" in result.stdout
    found = json.dumps(h.slack_sender.command("/friend", "tag:移行", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)
    assert "新しい 友だち" in found
    assert "予算: 80000" in json.dumps(h.slack_sender.command("/friend", "A-1001", user_id=STAFF, channel_id=TRIAGE).json(),
                                        ensure_ascii=False)
    events = [e for e in h.store.events(cid(HANAKO)) if e.get("source") == "csv"]
    assert events and events[0]["changes"]["tags_removed"] == ["新規"]
    # the imported friend is not in the backlog until they write
    assert "新しい 友だち" not in json.dumps(h.slack_sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE).json(),
                                           ensure_ascii=False)


def test_an_import_with_a_bad_row_changes_nothing_and_reports_lines(h, bridge_env, tmp_path):
    open_thread(h, HANAKO)
    bad = tmp_path / "bad.csv"
    bad.write_text("account,line_id,name,tags,member_no,visit,budget\n"
                   f"default,{HANAKO},,VIP,A-1,2026-02-01,100\n"
                   f"default,{TARO},,,B-2,2026-13-45,100\n"
                   f"default,not-a-line-id,,,,,\n"
                   f"default,{NEW},,,,,たくさん\n", encoding="utf-8")
    result = admin(bridge_env, "friends", "import", str(bad))
    assert result.returncode == 1
    assert "line 3: 来店日" in result.stderr and "line 4: line_id" in result.stderr and "line 5: 予算" in result.stderr
    assert "line 2" not in result.stderr and "nothing imported" in result.stderr
    assert h.store.r.exists(h.store.keys.friend(conv_id=cid(HANAKO))) == 0          # the good row was not applied
    assert h.store.get_conversation(cid(NEW)) is None
