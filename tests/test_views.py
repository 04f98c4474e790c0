"""What Slack users read exists in Japanese and English, and the parent shows the live status."""
from __future__ import annotations

import json
import time

from bridge.i18n import MESSAGES, t
from bridge.triage.marks import default_marks
from bridge.model import Conversation
from bridge.slack_ui.parent import actions_modal, parent_message


def test_every_message_exists_in_japanese_and_english():
    for key, entry in MESSAGES.items():
        assert entry.get("ja") and entry.get("en"), key


def conv(**kw):
    base = dict(conv_id="U1", source_type="user", number=12, name="山田 花子", picture_url="https://p/1",
                channel="C1", thread_ts="1.2", mark="complaint", assignee="USTAFF",
                waiting_since=time.time() - 8100, last_message_at=time.time() - 60)
    base.update(kw)
    return Conversation(**base)


def test_parent_status_line_in_japanese():
    text, blocks = parent_message(conv(), default_marks(), "ja")
    body = json.dumps(blocks, ensure_ascii=False)
    assert "#12 山田 花子" in text and "クレーム" in text
    assert "<@USTAFF>" in body and "2時間15分" in body and "担当する" in body
    assert "<!date^" in body  # times render in each viewer's own time zone


def test_parent_status_line_in_english():
    text, blocks = parent_message(conv(assignee="", waiting_since=0), default_marks(), "en")
    body = json.dumps(blocks, ensure_ascii=False)
    assert "Complaint" in text
    assert "unassigned" in body and "Claim" in body and "Resolve" in body
    assert "⏳" not in body  # nobody is waiting: no clock


def test_parent_controls_preselect_the_current_state():
    _, blocks = parent_message(conv(), default_marks(), "ja")
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    select = next(e for e in actions if e["type"] == "static_select")
    assert select["initial_option"]["value"] == "complaint"
    assert next(e for e in actions if e["type"] == "users_select")["initial_user"] == "USTAFF"


def test_modal_has_the_same_actions():
    view = actions_modal(conv(), default_marks(), "en")
    assert view["private_metadata"] == "U1"
    assert {b.get("block_id") for b in view["blocks"]} >= {"quick", "mark", "assignee"}
    assert t("modal.title", "en") == view["title"]["text"]
