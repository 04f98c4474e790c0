"""Marks: defaults, lookup by name, the TOML configuration and its errors."""
from __future__ import annotations

import re
import textwrap

import pytest

from bridge.config import ConfigError, parse_config, read_config
from bridge.settings import Settings
from bridge.triage.marks import Mark, MarkSet, default_marks


def write(tmp_path, text: str) -> str:
    path = tmp_path / "bridge.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def load_marks(path: str) -> MarkSet:
    return read_config(path).marks


def parse_marks(text: str) -> MarkSet:
    return parse_config(text).marks


def errors_of(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_marks(write(tmp_path, text))
    return exc.value.errors


# -- defaults -----------------------------------------------------------------------

def test_defaults_order_states_and_roles():
    ms = default_marks()
    keys = [m.key for m in ms.ordered()]
    assert keys == ["complaint", "account_trouble", "needs_reply", "unconfirmed", "question_mid", "inquiry",
                    "question_low", "needs_approach", "confirmed", "awaiting_friend", "resolved"]
    assert ms.default_open == "needs_reply" and ms.resolved == "resolved" and ms.waiting == "awaiting_friend"
    assert ms.get("awaiting_friend").state == "waiting"
    assert ms.get("resolved").state == "closed"
    assert [m.key for m in ms.open_marks()] == keys[:9]
    assert ms.rank("complaint") == 0 and ms.rank("resolved") == 10


def test_default_emoji_are_distinct_slack_names_and_reactions():
    ms = default_marks()
    emoji = [m.emoji for m in ms.marks]
    assert len(set(emoji)) == len(emoji)
    assert all(re.fullmatch(r"[a-z0-9_+\-]+", e) for e in emoji)
    assert ms.reactions["raising_hand"] == "claim"
    assert ms.reactions["white_check_mark"] == "resolve"
    assert ms.reactions["rage"] == "mark:complaint"
    assert ms.reactions["hourglass_flowing_sand"] == "mark:awaiting_friend"
    assert ms.reaction_action(":rage:") == "mark:complaint"
    assert ms.reaction_action("thumbsup") is None
    # every mark but the resolved one is reachable by its emoji
    assert {a for a in ms.reactions.values() if a.startswith("mark:")} == {f"mark:{m.key}" for m in ms.marks if m.key != "resolved"}


def test_label_and_display():
    m = default_marks().get("complaint")
    assert m.label("ja") == "クレーム" and m.label("en") == "Complaint" and m.label(None) == "クレーム"
    assert m.display("ja") == ":rage: クレーム"
    assert m.display("en-US") == ":rage: Complaint"


# -- find -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,key", [
    ("complaint", "complaint"), ("COMPLAINT", "complaint"), ("ｃｏｍｐｌａｉｎｔ", "complaint"),
    ("クレーム", "complaint"), ("ｸﾚｰﾑ", "complaint"), ("Complaint", "complaint"),
    ("質問(中)", "question_mid"), ("質問（中）", "question_mid"), ("question (medium)", "question_mid"),
    ("Needs reply", "needs_reply"), ("needsreply", "needs_reply"), ("要対応", "needs_reply"),
    (":rage:", "complaint"), ("返信待ち", "awaiting_friend"), ("対応済み", "resolved"),
])
def test_find(text, key):
    assert default_marks().find(text).key == key


@pytest.mark.parametrize("text", ["", "  ", "質問", "rage", "クレ", "nope"])
def test_find_unknown(text):
    assert default_marks().find(text) is None


def test_markset_rejects_undefined_roles():
    with pytest.raises(ValueError):
        MarkSet(marks=(Mark("a", "A", "A", "a", 1),), default_open="a", resolved="zzz", waiting="")


# -- config file ----------------------------------------------------------------------

def test_no_config_file_gives_defaults():
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "REDIS_URL": "redis://localhost:6379/0",
           "PUBLIC_BASE_URL": "https://bridge.example.jp", "LINE_CHANNEL_SECRET": "sec",
           "LINE_CHANNEL_ACCESS_TOKEN": "tok", "SLACK_TRIAGE_CHANNEL": "C0TRIAGE"}
    assert Settings.from_env(env).config.marks == default_marks()
    assert Settings.from_env({**env, "BRIDGE_CONFIG": ""}).config.marks == default_marks()


def test_example_config_loads():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "bridge.example.toml"
    ms = load_marks(str(example))
    assert ms == default_marks()   # the example documents exactly the defaults


def test_config_replaces_marks_and_reactions(tmp_path):
    ms = load_marks(write(tmp_path, """
        default_open = "todo"
        resolved = "done"
        waiting = "later"

        [[marks]]
        key = "urgent"
        ja = "至急"
        en = "Urgent"
        emoji = ":fire:"
        priority = 1

        [[marks]]
        key = "todo"
        ja = "要対応"
        en = "To do"
        emoji = "red_circle"
        priority = 5

        [[marks]]
        key = "later"
        ja = "返信待ち"
        en = "Later"
        emoji = "hourglass"
        priority = 8
        state = "waiting"

        [[marks]]
        key = "done"
        ja = "完了"
        en = "Done"
        emoji = "heavy_check_mark"
        priority = 9
        state = "closed"

        [reactions]
        eyes = "claim"
        raising_hand = "none"
        white_check_mark = "resolve"
        "+1" = "mark:todo"
    """))
    assert [m.key for m in ms.ordered()] == ["urgent", "todo", "later", "done"]
    assert ms.get("urgent").emoji == "fire"                   # colons are tolerated
    assert (ms.default_open, ms.resolved, ms.waiting) == ("todo", "done", "later")
    assert ms.reactions["eyes"] == "claim"
    assert "raising_hand" not in ms.reactions
    assert ms.reactions["heavy_check_mark"] == "resolve"        # the resolved mark's emoji resolves
    assert ms.reactions["+1"] == "mark:todo"
    assert ms.reactions["fire"] == "mark:urgent"
    assert ms.get("complaint") is None                          # defaults were replaced


def test_waiting_is_optional_when_marks_are_replaced(tmp_path):
    ms = load_marks(write(tmp_path, """
        [[marks]]
        key = "needs_reply"
        ja = "要対応"
        en = "Needs reply"
        emoji = "red_circle"
        priority = 1
        [[marks]]
        key = "resolved"
        ja = "対応済み"
        en = "Resolved"
        emoji = "white_check_mark"
        priority = 2
        state = "closed"
    """))
    assert ms.waiting == ""
    assert [m.key for m in ms.backlog_marks()] == ["needs_reply"]


def test_rename_keeps_key_and_order(tmp_path):
    base = default_marks()
    ms = load_marks(write(tmp_path, """
        [[marks]]
        key = "complaint"
        ja = "苦情"
        en = "Grievance"
        emoji = "angry"
        priority = 10
        [[marks]]
        key = "needs_reply"
        ja = "要対応"
        en = "Needs reply"
        emoji = "red_circle"
        priority = 30
        [[marks]]
        key = "resolved"
        ja = "完了"
        en = "Done"
        emoji = "white_check_mark"
        priority = 110
        state = "closed"
    """))
    assert ms.find("苦情").key == "complaint"
    assert ms.find("Grievance").key == "complaint"
    assert ms.find("クレーム") is None
    assert ms.get("complaint").display("ja") == ":angry: 苦情"
    # the order (and so the stored backlog scores) did not change for the kept keys
    assert ms.rank("complaint") < ms.rank("needs_reply")
    assert base.fingerprint() != ms.fingerprint()  # marks were removed: order changed


def test_rename_only_keeps_fingerprint(tmp_path):
    from pathlib import Path

    example = (Path(__file__).resolve().parents[1] / "bridge.example.toml").read_text(encoding="utf-8")
    renamed = example.replace('ja = "クレーム"', 'ja = "苦情"')
    assert renamed != example
    a = parse_marks(example)
    b = parse_marks(renamed)
    assert b.get("complaint").ja == "苦情"
    assert a.fingerprint() == b.fingerprint()


def test_removed_mark_ranks_and_behaves_as_default_open():
    ms = default_marks()
    assert ms.get("vip") is None
    assert ms.rank("vip") == ms.rank("needs_reply")
    assert ms.effective("vip").key == "needs_reply"
    assert ms.state("vip") == "open"


def test_fingerprint_follows_priority_order(tmp_path):
    a = default_marks()
    b = MarkSet(marks=tuple(Mark(m.key, m.ja, m.en, m.emoji, 1 if m.key == "question_low" else m.priority, m.state)
                            for m in a.marks), reactions=a.reactions)
    assert b.ordered()[0].key == "question_low"
    assert a.fingerprint() != b.fingerprint()
    c = MarkSet(marks=tuple(Mark(m.key, m.ja + "!", m.en, m.emoji, m.priority, m.state) for m in a.marks))
    assert a.fingerprint() == c.fingerprint()


# -- config errors ------------------------------------------------------------------------

def test_error_duplicate_key_with_lines(tmp_path):
    errs = errors_of(tmp_path, """\
        [[marks]]
        key = "a"
        ja = "A"
        en = "A"
        emoji = "one"
        [[marks]]
        key = "a"
        ja = "B"
        en = "B"
        emoji = "two"
    """)
    assert any(e.endswith('bridge.toml:7: [[marks]] #2 (\'a\'): duplicate key \'a\' (first defined on line 2)') for e in errs), errs


def test_error_unknown_state_missing_name_bad_emoji(tmp_path):
    errs = errors_of(tmp_path, """\
        [[marks]]
        key = "needs_reply"
        ja = "要対応"
        en = "Needs reply"
        emoji = "red_circle"
        state = "pending"
        [[marks]]
        key = "nameless"
        emoji = "x"
        [[marks]]
        key = "resolved"
        ja = "済"
        en = "Done"
        emoji = "✅"
        state = "closed"
    """)
    text = "\n".join(errs)
    assert "bridge.toml:6:" in text and "unknown state 'pending'" in text
    assert "bridge.toml:7:" in text and "missing name" in text
    assert "bridge.toml:14:" in text and "bad emoji '✅'" in text


def test_error_default_and_resolved_undefined(tmp_path):
    errs = errors_of(tmp_path, """\
        [[marks]]
        key = "only"
        ja = "唯一"
        en = "Only"
        emoji = "one"
    """)
    text = "\n".join(errs)
    assert "`default_open` is 'needs_reply'" in text
    assert "`resolved` is 'resolved'" in text


def test_error_roles_with_wrong_state_and_explicit_waiting(tmp_path):
    errs = errors_of(tmp_path, """\
        default_open = "done"
        waiting = "later"
        [[marks]]
        key = "done"
        ja = "完了"
        en = "Done"
        emoji = "heavy_check_mark"
        state = "closed"
        [[marks]]
        key = "resolved"
        ja = "済"
        en = "Resolved"
        emoji = "white_check_mark"
        state = "closed"
    """)
    text = "\n".join(errs)
    assert "bridge.toml:1: `default_open` mark 'done' must have state = \"open\"" in text
    assert "bridge.toml:2: `waiting` is 'later', but no [[marks]] entry has that key" in text


def test_error_reaction_to_unknown_mark_and_bad_action(tmp_path):
    errs = errors_of(tmp_path, """\
        [reactions]
        eyes = "mark:nope"
        fire = "explode"
        "😀" = "claim"
    """)
    text = "\n".join(errs)
    assert "bridge.toml:2: [reactions] eyes = 'mark:nope': no [[marks]] entry has key 'nope'" in text
    assert "bridge.toml:3:" in text and "unknown action" in text
    assert "bridge.toml:4:" in text and "bad emoji" in text


def test_error_unknown_field_duplicate_emoji_and_name(tmp_path):
    errs = errors_of(tmp_path, """\
        [[marks]]
        key = "needs_reply"
        ja = "要対応"
        en = "Needs reply"
        emoij = "red_circle"
        [[marks]]
        key = "resolved"
        ja = "要対応"
        en = "Resolved"
        emoji = "white_check_mark"
        state = "closed"
        [[marks]]
        key = "other"
        ja = "他"
        en = "Other"
        emoji = "white_check_mark"
        priority = "high"
    """)
    text = "\n".join(errs)
    assert "bridge.toml:5:" in text and "unknown field `emoij`" in text
    assert "already used by 'needs_reply'" in text          # the ja name
    assert "bridge.toml:16:" in text and "emoji 'white_check_mark' is already used by 'resolved'" in text
    assert "bridge.toml:17:" in text and "`priority` must be an integer" in text


def test_error_invalid_toml_and_bad_key(tmp_path):
    errs = errors_of(tmp_path, "[[marks]\nkey = \n")
    assert errs[0].startswith(str(tmp_path / "bridge.toml") + ": not valid TOML") and "line" in errs[0]
    errs = errors_of(tmp_path, """\
        [[marks]]
        key = "Needs Reply"
        ja = "要対応"
        en = "x"
        emoji = "a"
    """)
    assert any("bridge.toml:2:" in e and "bad key" in e for e in errs)
