"""The README's first command: the Procfile's web + worker (gunicorn, rq) against the emulators."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, run_log


def demo(redis_url, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_CHANNEL", "SLACK_", "BRIDGE_"))}
    env["REDIS_URL"] = redis_url
    env["DEMO_PROCS_LOG"] = str(run_log("procfile-demo-procs.log"))  # not the log another test's demo writes
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "devtools.demo", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=150)


def test_sandbox_demo_runs_the_procfile_end_to_end(redis_url):
    run = demo(redis_url)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "Slack parent message : 明日の予約を15時に変更できますか？" in out
    assert "LINE received (reply) : 承知しました！ 15時 でお取りしますね 😄" in out
    assert "LINE deliveries so far: 1 (the note was not sent)" in out


def test_sandbox_demo_shows_a_second_account_sharing_the_channel_when_asked(redis_url):
    run = demo(redis_url, "--second-account")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Slack parent : #2 梅田 次郎 — 要対応 (梅田店)" in run.stdout


def test_the_procfile_runs_through_redis_sentinel(redis_url):
    """REDIS_URL=redis+sentinel://…: gunicorn, the rq worker (-c bridge.rqconfig) and the bridge's own
    clients all find the master through Sentinel; the scripted conversation goes through end to end."""
    from devtools.devredis import PrivateSentinel

    sentinel = PrivateSentinel(redis_url)
    try:
        assert sentinel.url.startswith("redis+sentinel://")
        run = demo(sentinel.url)
    finally:
        sentinel.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Slack parent message : 明日の予約を15時に変更できますか？" in run.stdout
    assert "LINE received (reply) : 承知しました！ 15時 でお取りしますね 😄" in run.stdout


def test_a_malformed_sentinel_url_stops_the_worker_once_with_the_reason():
    env = {**os.environ, "REDIS_URL": "redis+sentinel://:secret@127.0.0.1:26379"}
    run = subprocess.run([sys.executable, "-c", "import bridge.rqconfig"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert "worker not started" in run.stderr and "names the service" in run.stderr
    assert "secret" not in run.stderr
