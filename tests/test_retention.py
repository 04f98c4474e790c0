"""retention_days (#18): archived messages and media older than an account's retention period are deleted,
exactly those, in bounded batches; a media file goes only when no remaining entry of any conversation
refers to it. Configured per account in bridge.toml and by BRIDGE_RETENTION_DAYS for the default one."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from bridge.accounts import Account
from bridge.archive.media import MediaArchive
from bridge.model import Conversation
from bridge.runtime import Runtime
from bridge.settings import Settings, SettingsError
from bridge.store import archive as refs
from bridge.store.messages import transcript_add

DAY = 86400.0
NOW = 1_800_000_000.0


@pytest.fixture()
def rt(settings, tmp_path):
    default = dataclasses.replace(settings.accounts[0], retention_days=30)
    keeper = Account("shop2", "Shop 2", "CSHOP0002", "secret2", "token2")       # keeps everything
    runtime = Runtime(dataclasses.replace(settings, namespace="ret" + uuid.uuid4().hex[:8], archive_dir=str(tmp_path),
                                          accounts=(default, keeper)))
    yield runtime
    runtime.store.delete_namespace()


def entry(rt, conv_id: str, days_ago: float, text: str, media: bytes | None = None) -> str:
    """An archived message (and its photo in the media archive) ``days_ago`` days before NOW."""
    at = NOW - days_ago * DAY
    e = {"id": f"line:{uuid.uuid4().hex[:10]}", "t": at, "dir": "in", "kind": "image" if media else "text", "text": text}
    sha = ""
    if media is not None:
        meta = rt.archive.put(media, "image/jpeg")
        sha = meta["sha256"]
        e["media"] = [meta]
        refs.add_refs(rt.store, conv_id, [sha])
    transcript_add(rt.store, conv_id, at, e)
    return sha


def texts(rt, conv_id: str) -> list[str]:
    import json

    return [json.loads(m)["text"] for m in rt.redis.zrange(rt.keys.transcript(conv_id=conv_id), 0, -1)]


def test_retention_deletes_exactly_what_is_older_and_keeps_media_still_referred_to(rt):
    a, b = "default-Uaaaa", "shop2-Ubbbb"
    rt.store.ensure_conversation(Conversation(a, "user", 0, line_id="Uaaaa"))
    only_old = entry(rt, a, 40, "40 days ago", media=b"old receipt")
    kept_by_newer = entry(rt, a, 35, "35 days ago", media=b"a photo sent twice")
    kept_by_other = entry(rt, a, 31, "31 days ago", media=b"the shop's map")
    entry(rt, a, 29.9, "29.9 days ago")
    entry(rt, a, 1, "yesterday", media=b"a photo sent twice")
    entry(rt, b, 400, "another account, 400 days ago", media=b"the shop's map")
    entry(rt, "default-Ugone", 60, "a conversation whose state is gone")

    run = rt.domain.retention.run(NOW)

    assert texts(rt, a) == ["29.9 days ago", "yesterday"]
    assert texts(rt, b) == ["another account, 400 days ago"]          # its account keeps everything
    files = set(MediaArchive(rt.settings.archive_dir).walk())
    assert only_old not in files and {kept_by_newer, kept_by_other} <= files
    assert refs.refs(rt.store, only_old) == set() and refs.refs(rt.store, kept_by_newer) == {a}
    assert refs.refs(rt.store, kept_by_other) == {b}
    assert run.entries == {"default": 4} and run.media == {"default": 1} and not run.more
    assert float(rt.redis.hget(rt.keys.conv(conv_id=a), "history_since")) == NOW - 30 * DAY   # where its history starts now
    assert not rt.redis.exists(rt.keys.conv(conv_id="default-Ugone"))    # no stray hash written for it
    stats = rt.stores.forget.retention_stats("default")
    assert (stats["entries"], stats["media"], stats["total_entries"]) == ("4", "1", "4")

    again = rt.domain.retention.run(NOW)                                # nothing more is due: idempotent
    assert again.entries == {"default": 0} and texts(rt, a) == ["29.9 days ago", "yesterday"]
    assert rt.stores.forget.retention_stats("default")["total_entries"] == "4"


def test_a_run_stops_at_its_limit_and_asks_for_another(rt):
    for i in range(7):
        entry(rt, f"default-U{i}", 50 + i, f"old {i}")
    entry(rt, "default-U0", 2, "recent")
    first = rt.domain.retention.run(NOW, limit=5)
    assert first.more and first.entries == {"default": 5}
    second = rt.domain.retention.run(NOW, limit=5)
    assert not second.more and second.entries == {"default": 2}
    left = [t for i in range(7) for t in texts(rt, f"default-U{i}")]
    assert left == ["recent"]


def test_the_stats_line_says_what_retention_deleted(rt):
    from handlers.slack.home import retention_lines

    entry(rt, "default-Uaaaa", 45, "old")
    rt.domain.retention.run(NOW)
    lines = retention_lines(rt, ["default", "shop2"], "ja")
    assert len(lines) == 1 and "30日" in lines[0] and "1 件" in lines[0]     # only the account with a period


def test_retention_days_is_configured_per_account_and_checked_at_start(bridge_env, tmp_path):
    config = tmp_path / "bridge.toml"
    config.write_text('[[accounts]]\nkey = "shop2"\nchannel = "CSHOP0002"\nsecret_env = "S2"\ntoken_env = "T2"\n'
                      'retention_days = 365\n')
    env = {**bridge_env, "BRIDGE_CONFIG": str(config), "S2": "s", "T2": "t", "BRIDGE_RETENTION_DAYS": "90"}
    accounts = {a.key: a.retention_days for a in Settings.from_env(env).accounts}
    assert accounts == {"default": 90, "shop2": 365}
    assert {a.key: a.retention_days for a in Settings.from_env({**env, "BRIDGE_RETENTION_DAYS": ""}).accounts}["default"] == 0
    config.write_text(config.read_text().replace("365", '"a year"'))
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({**env, "BRIDGE_RETENTION_DAYS": "0"})
    assert "BRIDGE_RETENTION_DAYS" in str(exc.value) and "bridge.toml" in str(exc.value) and "retention_days" in str(exc.value)


def test_the_worker_runs_retention_daily_and_only_when_an_account_has_a_period(rt, settings):
    from bridge.runtime import RETENTION_EVERY_S

    ticker = rt.ticker()
    assert any(p.task == rt.enqueue_retention and p.interval == RETENTION_EVERY_S == DAY and p.lock == rt.keys.retention_tick()
               for p in ticker._tasks)
    before = rt.low_queue.count
    rt.enqueue_retention()
    assert rt.low_queue.count == before + 1
    rt.low_queue.empty()
    keeps = Runtime(dataclasses.replace(rt.settings, accounts=(settings.accounts[0],)))
    keeps.enqueue_retention()
    assert keeps.low_queue.count == 0
