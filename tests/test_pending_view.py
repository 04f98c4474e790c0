"""/pending: argument parsing, the filter's round trip, Block Kit rendering, humanized durations."""
from __future__ import annotations

import json
import os
import uuid

import pytest
import redis

from bridge.store.backlog import Backlog, BacklogPage, BacklogRow
from bridge.humanize import ago, waited
from bridge.keys import Keys
from bridge.triage.marks import default_marks
from bridge.model import Conversation
from bridge.slack_ui.pending import (DEFAULT_LIMIT, MAX_ROWS, MORE_ACTION_ID, PendingFilter, parse_pending_args,
                                 render_pending)
from bridge.store import Store

MARKS = default_marks()
NOW = 1_700_000_000.0


# -- humanize ------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds,ja,en", [
    (0, "たった今", "just now"), (59.9, "たった今", "just now"), (-30, "たった今", "just now"),
    (60, "1分", "1 min"), (180, "3分", "3 min"), (3599, "59分", "59 min"),
    (3600, "1時間", "1 h"), (2 * 3600 + 15 * 60 + 59, "2時間15分", "2 h 15 min"),
    (86400, "1日", "1 day"), (86400 + 4 * 3600, "1日4時間", "1 day 4 h"),
    (3 * 86400 + 5 * 3600, "3日", "3 days"), (40 * 86400, "40日", "40 days"),
])
def test_waited(seconds, ja, en):
    assert waited(seconds, "ja") == ja
    assert waited(seconds, "en") == en


def test_ago():
    assert ago(NOW - 300, NOW, "ja") == "5分前"
    assert ago(NOW - 300, NOW, "en") == "5 min ago"
    assert ago(NOW - 10, NOW, "ja") == "たった今"
    assert ago(NOW - 10, NOW, "en") == "just now"
    assert ago(NOW - 2 * 3600, NOW, "ja") == "2時間前"


# -- parse_pending_args -------------------------------------------------------------------------

def parse(text: str, lang: str = "ja") -> PendingFilter:
    return parse_pending_args(text, MARKS, "UME", lang)


def test_parse_plain():
    assert parse("") == PendingFilter()
    assert parse("   ") == PendingFilter()


@pytest.mark.parametrize("text", ["mine", "me", "MINE", "自分", "ｍｉｎｅ"])
def test_parse_mine(text):
    assert parse(text) == PendingFilter(assignee="UME")


@pytest.mark.parametrize("text", ["unassigned", "none", "未割り当て", "担当なし"])
def test_parse_unassigned(text):
    assert parse(text) == PendingFilter(unassigned=True)


@pytest.mark.parametrize("text", ["<@U123ABC|yamada>", "<@U123ABC>", " <@U123ABC|山田 花子> "])
def test_parse_user_mention(text):
    assert parse(text) == PendingFilter(assignee="U123ABC")


def test_parse_marks_by_any_name():
    assert parse("クレーム").marks == ("complaint",)
    assert parse("complaint").marks == ("complaint",)
    assert parse("質問（中）").marks == ("question_mid",)
    assert parse("Needs reply").marks == ("needs_reply",)
    assert parse("question (medium) :rage:").marks == ("question_mid", "complaint")
    assert parse("返信待ち").marks == ("awaiting_friend",)


def test_parse_combined():
    f = parse("mine クレーム 質問(中)")
    assert f == PendingFilter(assignee="UME", marks=("complaint", "question_mid"))
    f = parse("要対応 <@U9|sato> 要対応")
    assert f == PendingFilter(assignee="U9", marks=("needs_reply",))
    f = parse("none　Complaint")                 # full-width space from a Japanese IME
    assert f == PendingFilter(unassigned=True, marks=("complaint",))


def test_parse_all_includes_waiting():
    f = parse("all")
    assert f.marks == tuple(m.key for m in MARKS.backlog_marks())
    assert "awaiting_friend" in f.marks


def test_parse_errors():
    f = parse("mine foo")
    assert f.error and "「foo」が分かりません" in f.error and "クレーム" in f.error and "`mine`" in f.error
    f = parse("bogus", "en")
    assert 'I don\'t understand "bogus"' in f.error and "Complaint" in f.error
    assert parse("mine unassigned").error
    assert parse("<@U1> <@U2>").error
    assert parse("mine <@UME>").error is None
    assert "対応待ちに含まれません" in parse("対応済み").error
    assert parse("<script>").error and "<script>" not in parse("<script>").error
    assert parse("help").error.startswith("使い方")


# -- PendingFilter round trip ---------------------------------------------------------------------

@pytest.mark.parametrize("f", [
    PendingFilter(),
    PendingFilter(assignee="U123", marks=("complaint", "question_mid"), offset=40),
    PendingFilter(unassigned=True, limit=10, offset=10),
    PendingFilter(marks=tuple(m.key for m in MARKS.backlog_marks())),
])
def test_filter_round_trip(f):
    value = f.encode()
    assert len(value) <= 2000
    assert PendingFilter.decode(value) == f


@pytest.mark.parametrize("value", ["", "x", "p1;a=", "p1;z=1", "p1;o=-1", "p1;m=Bad Key", "p1;a=U1;u=1",
                                   "p1;l=999", "p1;o=1;o=2"])
def test_filter_decode_rejects_garbage(value):
    with pytest.raises(ValueError):
        PendingFilter.decode(value)


def test_filter_next_page_and_query_kwargs():
    f = PendingFilter(assignee="U1", marks=("complaint",))
    assert f.next_page().offset == DEFAULT_LIMIT
    assert f.next_page().query_kwargs() == {"assignee": "U1", "unassigned": False, "marks": ["complaint"],
                                            "offset": 20, "limit": 20}
    assert PendingFilter().query_kwargs()["marks"] is None
    assert "<@U1>" in f.describe(MARKS, "ja") and ":rage: クレーム" in f.describe(MARKS, "ja")
    assert PendingFilter().describe(MARKS, "en") == "All open conversations"


# -- render_pending -----------------------------------------------------------------------------------

def row(i: int, **kw) -> BacklogRow:
    data = dict(conv_id=f"C{i}", number=i, name=f"山田 花子{i}", mark="complaint", assignee="U1",
                waiting_since=NOW - 2 * 3600 - 15 * 60, last_message_at=NOW - 60, last_message_preview="こんにちは",
                thread_ts=f"17000.{i}", channel="CTRIAGE")
    data.update(kw)
    return BacklogRow(**data)


def link(r: BacklogRow) -> str:
    return f"https://example.slack.com/archives/{r.channel}/p{r.thread_ts.replace('.', '')}"


def page_of(rows, total=None, offset=0, limit=20, counts=None) -> BacklogPage:
    return BacklogPage(rows=rows, total=len(rows) if total is None else total, offset=offset, limit=limit,
                       counts=counts if counts is not None else {"complaint": 3, "needs_reply": 12, "question_mid": 0},
                       now=NOW)


def texts(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_render_row_and_header():
    text, blocks = render_pending(page_of([row(12)]), MARKS, "ja", permalink_for=link, filters_text="担当: <@U1>",
                                  more_value=None)
    assert text == "対応待ち 1件"
    assert blocks[0]["text"]["text"] == "*対応待ち 1件*  ·  担当: <@U1>"
    assert blocks[1]["elements"][0]["text"] == ":rage: クレーム 3 · :red_circle: 要対応 12"
    sections = [b for b in blocks if b["type"] == "section"]
    body = sections[1]["text"]["text"]
    assert body.splitlines()[0] == "*#12 山田 花子12* · :rage: クレーム · 担当 <@U1> · 待ち 2時間15分"
    assert body.splitlines()[1] == "> こんにちは  <https://example.slack.com/archives/CTRIAGE/p1700012|スレッドを開く>"
    assert not any(b["type"] == "actions" for b in blocks)


def test_render_english_unassigned_not_waiting():
    _, blocks = render_pending(page_of([row(3, assignee="", waiting_since=0, last_message_at=NOW - 300)]), MARKS, "en",
                               permalink_for=lambda r: "", filters_text="", more_value=None)
    body = blocks[3]["text"]["text"]
    assert body.splitlines()[0] == "*#3 山田 花子3* · :rage: Complaint · Assignee Unassigned · last 5 min ago"
    assert "|Open thread>" not in body


def test_render_escapes_friend_text():
    nasty = row(1, name="<!channel> & co", last_message_preview="a < b && c > d <@U999> @here\nnext line")
    _, blocks = render_pending(page_of([nasty]), MARKS, "ja", permalink_for=link, filters_text="", more_value=None)
    body = blocks[3]["text"]["text"]
    assert "&lt;!channel&gt; &amp; co" in body
    assert "a &lt; b &amp;&amp; c &gt; d &lt;@U999&gt;" in body
    assert "<@U999>" not in body and "<!channel>" not in body and "@here" not in body
    assert len(body.splitlines()) == 2           # the preview stays on one line


def test_render_full_page_limits_and_more_button():
    rows = [row(i, name="名" * 200, last_message_preview="長文" * 2000) for i in range(DEFAULT_LIMIT)]
    f = PendingFilter(assignee="U1")
    text, blocks = render_pending(page_of(rows, total=57), MARKS, "ja", permalink_for=link, filters_text="x",
                                  more_value=f.next_page().encode())
    assert len(blocks) <= 50
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1
    button = actions[0]["elements"][0]
    assert button["action_id"] == MORE_ACTION_ID
    assert PendingFilter.decode(button["value"]).offset == 20
    assert "1–20件目 / 全57件" in texts(blocks)
    assert text == "対応待ち 57件"


def test_render_last_page_has_no_more_button():
    rows = [row(i) for i in range(7)]
    _, blocks = render_pending(page_of(rows, total=27, offset=20), MARKS, "ja", permalink_for=link, filters_text="",
                               more_value="p1;o=40")
    assert not any(b["type"] == "actions" for b in blocks)
    assert "21–27件目 / 全27件" in texts(blocks)


def test_render_max_rows_fit_and_too_many_are_refused():
    rows = [row(i) for i in range(MAX_ROWS)]
    _, blocks = render_pending(page_of(rows, total=100, limit=MAX_ROWS), MARKS, "en", permalink_for=link,
                               filters_text="", more_value="p1;o=45;l=45")
    assert len(blocks) == 50
    with pytest.raises(ValueError):
        render_pending(page_of(rows + [row(99)], total=100), MARKS, "en", permalink_for=link, filters_text="",
                       more_value=None)


def test_render_empty():
    text, blocks = render_pending(page_of([], counts={"complaint": 0}), MARKS, "ja", permalink_for=link,
                                  filters_text="", more_value="p1")
    assert text == "対応待ちはありません 🎉"
    assert len(blocks) == 1 and "対応待ちはありません 🎉" in blocks[0]["text"]["text"]
    text, _ = render_pending(page_of([], counts={}), MARKS, "en", permalink_for=link, filters_text="", more_value=None)
    assert text == "Nothing pending 🎉"


# -- end to end on Redis ------------------------------------------------------------------------------

def test_pending_end_to_end_on_redis():
    r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    keys = Keys("t" + uuid.uuid4().hex[:8])
    try:
        bl = Backlog(r, keys, MARKS)
        for i in range(25):
            conv = Conversation(conv_id=f"U{i:032d}", source_type="user", number=i + 1, name=f"友だち{i}",
                                mark="complaint" if i < 3 else "needs_reply", assignee="UME" if i % 2 else "",
                                waiting_since=NOW - 100 * i, last_message_preview=f"メッセージ{i}", channel="C1",
                                thread_ts=f"1.{i}")
            r.hset(keys.conv(conv_id=conv.conv_id), mapping=conv.to_hash())
            bl.index(conv)
        f = parse_pending_args("mine", MARKS, "UME")
        page = bl.query(now=NOW, **f.query_kwargs())
        _, blocks = render_pending(page, MARKS, "ja", permalink_for=link, filters_text=f.describe(MARKS),
                                   more_value=f.next_page().encode())
        assert page.total == 12 and len(page.rows) == 12
        assert "*#2 友だち1*" in blocks[3]["text"]["text"]          # complaint #2 (i=1) first
        assert not any(b["type"] == "actions" for b in blocks)
        f = parse_pending_args("", MARKS, "UME")
        page = bl.query(now=NOW, **f.query_kwargs())
        _, blocks = render_pending(page, MARKS, "ja", permalink_for=link, filters_text="",
                                   more_value=f.next_page().encode())
        assert page.total == 25 and page.has_more
        nxt = PendingFilter.decode([b for b in blocks if b["type"] == "actions"][0]["elements"][0]["value"])
        page2 = bl.query(now=NOW, **nxt.query_kwargs())
        assert len(page2.rows) == 5 and not page2.has_more
        assert not {x.conv_id for x in page.rows} & {x.conv_id for x in page2.rows}
    finally:
        Store(r, keys).delete_namespace()
        r.close()
