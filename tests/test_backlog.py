"""Backlog indexes on a real Redis: ordering, filters, moves, paging, rebuild."""
from __future__ import annotations

import os
import uuid

import pytest
import redis

from bridge.store.backlog import Backlog, BacklogPage
from bridge.store.backlog_layout import BacklogLayout
from bridge.keys import Keys
from bridge.triage.marks import Mark, MarkSet, default_marks
from bridge.model import Conversation
from bridge.store import Store

NOW = 1_700_000_000.0


@pytest.fixture
def env():
    r = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    keys = Keys("t" + uuid.uuid4().hex[:8])
    store = Store(r, keys)
    try:
        yield r, keys, store
    finally:
        store.delete_namespace()
        r.close()


@pytest.fixture
def bl(env):
    r, keys, _ = env
    return Backlog(r, keys, default_marks())


def save(bl: Backlog, conv_id: str, mark: str = "needs_reply", assignee: str = "", waiting: float = 0.0,
         number: int = 1, index: bool = True, **extra) -> Conversation:
    conv = Conversation(conv_id=conv_id, source_type="user", number=number, name=f"name {conv_id}", mark=mark,
                        assignee=assignee, waiting_since=waiting, created_at=NOW - 10_000, **extra)
    bl.r.hset(bl.keys.conv(conv_id=conv_id), mapping=conv.to_hash())
    if index:
        bl.index(conv)
    return conv


def ids(page: BacklogPage) -> list[str]:
    return [row.conv_id for row in page.rows]


def index_members(bl: Backlog) -> dict[str, set[str]]:
    """Every backlog zset of the namespace -> its members."""
    out = {}
    for key in bl.r.scan_iter(match=bl.keys.prefix + "backlog:*"):
        if bl.r.type(key) == "zset":
            out[key[len(bl.keys.prefix):]] = set(bl.r.zrange(key, 0, -1))
    return {k: v for k, v in out.items() if v}


def test_urgent_mark_first_then_longest_waiting(bl):
    save(bl, "q-old", "question_mid", waiting=NOW - 9000)
    save(bl, "n-new", "needs_reply", waiting=NOW - 60)
    save(bl, "c-new", "complaint", waiting=NOW - 30)
    save(bl, "n-old", "needs_reply", waiting=NOW - 7200)
    save(bl, "n-answered", "needs_reply", waiting=0, last_message_at=NOW - 99999)
    save(bl, "c-old", "complaint", waiting=NOW - 600)
    page = bl.query(now=NOW)
    assert ids(page) == ["c-old", "c-new", "n-old", "n-new", "n-answered", "q-old"]
    assert page.total == 6 and not page.has_more
    row = page.rows[0]
    assert (row.mark, row.waiting_since, row.name, row.number) == ("complaint", NOW - 600, "name c-old", 1)


def test_score_bands():
    b = BacklogLayout(Keys("bands"), default_marks())   # scores need no Redis
    assert b.score("complaint", NOW) < b.score("complaint", 0, NOW - 10**6) < b.score("account_trouble", 1.0)
    assert b.score("unknown-mark", NOW) == b.score("needs_reply", NOW)


def test_filters(bl):
    save(bl, "a", "complaint", "U1", NOW - 100)
    save(bl, "b", "needs_reply", "U1", NOW - 500)
    save(bl, "c", "needs_reply", "", NOW - 300)
    save(bl, "d", "question_mid", "U2", NOW - 900)
    save(bl, "e", "complaint", "", NOW - 50)
    assert ids(bl.query(assignee="U1")) == ["a", "b"]
    assert ids(bl.query(unassigned=True)) == ["e", "c"]
    assert ids(bl.query(assignee="U2")) == ["d"]
    assert ids(bl.query(assignee="U3")) == []
    assert ids(bl.query(marks=["complaint"])) == ["a", "e"]
    assert ids(bl.query(marks=["question_mid", "complaint"])) == ["a", "e", "d"]
    assert ids(bl.query(assignee="U1", marks=["needs_reply"])) == ["b"]
    assert ids(bl.query(unassigned=True, marks=["complaint", "question_mid"])) == ["e"]
    assert bl.query(assignee="U1", marks=["needs_reply"]).total == 1
    assert ids(bl.query(marks=["resolved"])) == [] and ids(bl.query(marks=["no-such-mark"])) == []
    with pytest.raises(ValueError):
        bl.query(assignee="U1", unassigned=True)


def test_counts_follow_assignee_filter(bl):
    save(bl, "a", "complaint", "U1", NOW - 100)
    save(bl, "b", "complaint", "", NOW - 100)
    save(bl, "c", "awaiting_friend", "U1", NOW - 100)
    save(bl, "d", "resolved", "U1", NOW - 100)
    everyone = bl.counts()
    assert everyone["complaint"] == 2 and everyone["awaiting_friend"] == 1 and everyone["needs_reply"] == 0
    assert "resolved" not in everyone
    assert list(everyone)[0] == "complaint"
    mine = bl.counts(assignee="U1")
    assert mine["complaint"] == 1 and mine["awaiting_friend"] == 1
    assert bl.counts(unassigned=True)["complaint"] == 1
    assert bl.query(assignee="U1").counts == mine


def test_waiting_marks_only_when_asked(bl):
    save(bl, "open", "needs_reply", "U1", NOW - 100)
    save(bl, "wait", "awaiting_friend", "U1", NOW - 99999)
    assert ids(bl.query()) == ["open"]
    assert ids(bl.query(assignee="U1")) == ["open"]
    assert ids(bl.query(marks=["awaiting_friend"])) == ["wait"]
    assert ids(bl.query(assignee="U1", marks=["awaiting_friend", "needs_reply"])) == ["open", "wait"]
    assert bl.counts()["awaiting_friend"] == 1


def test_moving_between_marks_and_assignees_leaves_nothing_stale(bl):
    conv = save(bl, "x", "complaint", "U1", NOW - 100)
    assert index_members(bl) == {"backlog:default:all": {"x"}, "backlog:default:mark:complaint": {"x"}, "backlog:default:assignee:U1": {"x"}}
    conv.mark, conv.assignee = "question_low", "U2"
    bl.index(conv)
    assert index_members(bl) == {"backlog:default:all": {"x"}, "backlog:default:mark:question_low": {"x"}, "backlog:default:assignee:U2": {"x"}}
    conv.assignee = ""
    bl.index(conv)
    assert index_members(bl) == {"backlog:default:all": {"x"}, "backlog:default:mark:question_low": {"x"}, "backlog:default:assignee:-": {"x"}}
    conv.mark = "awaiting_friend"
    bl.index(conv)
    assert index_members(bl) == {"backlog:default:mark:awaiting_friend": {"x"}, "backlog:default:assignee:-": {"x"}}
    assert ids(bl.query(assignee="U1")) == ids(bl.query(assignee="U2")) == ids(bl.query()) == []


def test_index_in_callers_pipeline(bl):
    conv = save(bl, "x", "complaint", "U1", NOW - 100)
    pipe = bl.r.pipeline(transaction=True)
    pipe.hset(bl.keys.conv(conv_id="x"), mapping={"mark": "inquiry"})
    conv.mark = "inquiry"
    bl.index(conv, pipe=pipe)
    assert ids(bl.query(marks=["inquiry"])) == []      # nothing happens before execute
    pipe.execute()
    assert ids(bl.query(marks=["inquiry"])) == ["x"] and ids(bl.query(marks=["complaint"])) == []


def test_resolving_removes_everywhere(bl):
    conv = save(bl, "x", "complaint", "U1", NOW - 100)
    save(bl, "y", "needs_reply", "", NOW - 100)
    conv.mark = "resolved"
    bl.index(conv)
    assert ids(bl.query()) == ["y"]
    assert index_members(bl) == {"backlog:default:all": {"y"}, "backlog:default:mark:needs_reply": {"y"}, "backlog:default:assignee:-": {"y"}}
    bl.remove("y")
    assert index_members(bl) == {}
    assert bl.query().total == 0


def test_reindex_reads_the_stored_hash(bl):
    save(bl, "x", "complaint", "U1", NOW - 100)
    bl.r.hset(bl.keys.conv(conv_id="x"), mapping={"mark": "inquiry", "assignee": ""})
    assert bl.reindex("x") is True
    assert ids(bl.query(unassigned=True, marks=["inquiry"])) == ["x"]
    bl.r.delete(bl.keys.conv(conv_id="x"))
    assert bl.reindex("x") is False
    assert index_members(bl) == {}


def test_paging_has_more_and_no_duplicates(bl):
    marks = ["complaint", "needs_reply", "question_mid", "awaiting_friend"]
    for i in range(47):
        save(bl, f"c{i:02d}", marks[i % 4], "U1" if i % 3 else "", NOW - 1000 - (i * 7 % 13), number=i)
    expected_all = ids(bl.query(limit=100))
    assert len(expected_all) == 47 - 11       # 11 are 返信待ち (i % 4 == 3)
    for kwargs in ({}, {"assignee": "U1"}, {"marks": ["complaint", "awaiting_friend", "question_mid"]},
                   {"assignee": "U1", "marks": ["question_mid", "complaint"]}):
        full = ids(bl.query(limit=100, **kwargs))
        seen: list[str] = []
        offset = 0
        while True:
            page = bl.query(offset=offset, limit=5, **kwargs)
            assert page.total == len(full)
            seen += ids(page)
            if not page.has_more:
                break
            assert len(page.rows) == 5
            offset += 5
        assert seen == full, kwargs
        assert len(set(seen)) == len(seen)
    past = bl.query(offset=500, limit=5)
    assert past.rows == [] and not past.has_more and past.total == 36


def test_unknown_mark_counts_as_default_open(bl):
    save(bl, "legacy", "vip", "", NOW - 100)
    save(bl, "n", "needs_reply", "", NOW - 50)
    page = bl.query(marks=["needs_reply"])
    assert ids(page) == ["legacy", "n"]
    assert page.rows[0].mark == "vip"
    assert page.counts["needs_reply"] == 2


def test_rebuild_after_priority_change(env):
    r, keys, _ = env
    base = default_marks()
    bl = Backlog(r, keys, base)
    assert bl.rebuild_if_needed() is True          # fresh namespace: builds (nothing yet)
    assert bl.rebuild_if_needed() is False
    save(bl, "c", "complaint", "U1", NOW - 100)
    save(bl, "q", "question_low", "", NOW - 50)
    save(bl, "w", "awaiting_friend", "U1", NOW - 50)
    save(bl, "done", "resolved", "U1", NOW - 50)
    save(bl, "late", "inquiry", "U2", NOW - 10, index=False)   # never indexed: the rebuild finds it
    r.hset(keys.conv_counter(), "x", "1")                      # other key kinds are ignored
    assert ids(bl.query()) == ["c", "q"]

    # question_low becomes the most urgent mark
    reordered = MarkSet(marks=tuple(Mark(m.key, m.ja, m.en, m.emoji, 1 if m.key == "question_low" else m.priority, m.state)
                                    for m in base.marks), reactions=base.reactions)
    bl2 = Backlog(r, keys, reordered)
    assert bl2.rebuild_if_needed() is True
    assert bl2.rebuild_if_needed() is False
    assert ids(bl2.query()) == ["q", "c", "late"]
    assert ids(bl2.query(assignee="U1", marks=["awaiting_friend", "complaint"])) == ["c", "w"]
    assert ids(bl2.query(assignee="U2")) == ["late"]
    assert r.hget(keys.backlog_meta(), "fingerprint") == reordered.fingerprint()
    # moves after a rebuild still clean up (the "where" record was rebuilt too)
    bl2.index(Conversation(conv_id="c", source_type="user", number=1, mark="resolved", assignee="U1"))
    assert "c" not in set().union(*index_members(bl2).values())


def test_rebuild_drops_stale_entries_and_removed_marks(env):
    r, keys, _ = env
    bl = Backlog(r, keys, default_marks())
    save(bl, "gone", "complaint", "U1", NOW - 100)
    save(bl, "x", "complaint", "U1", NOW - 100)
    r.delete(keys.conv(conv_id="gone"))
    only = MarkSet(marks=(Mark("needs_reply", "要対応", "Needs reply", "red_circle", 1),
                          Mark("resolved", "対応済み", "Resolved", "white_check_mark", 2, "closed")), waiting="")
    bl2 = Backlog(r, keys, only)
    assert bl2.rebuild_if_needed() is True
    assert ids(bl2.query()) == ["x"]                       # complaint was removed: behaves as needs_reply
    assert index_members(bl2) == {"backlog:default:all": {"x"}, "backlog:default:mark:needs_reply": {"x"}, "backlog:default:assignee:U1": {"x"}}


def test_rows_skip_vanished_hashes(bl):
    save(bl, "a", "complaint", "", NOW - 100)
    save(bl, "b", "complaint", "", NOW - 50)
    bl.r.delete(bl.keys.conv(conv_id="a"))
    assert ids(bl.query()) == ["b"]
