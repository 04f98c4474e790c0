"""Scale-out: 2 web processes (gunicorn, the Procfile's web line) and 4 rq workers on one Redis.

Friends write concurrently through both web processes (LINE redelivers some events);
staff answer concurrently: every message arrives exactly once and in order on both sides.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from emulators.line_webhooks import send_webhook
from emulators.slack_events import SlackEventSender
from tests.conftest import LINE_SECRET, ROOT, SLACK_SECRET, TRIAGE, run_log, shown_texts, wait_until

FRIENDS = ["U" + c * 32 for c in "3456"]
PER_FRIEND = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _web_line() -> str:
    return next(line.split(":", 1)[1].strip() for line in (ROOT / "Procfile").read_text().splitlines()
                if line.startswith("web:"))


def _healthy(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def test_two_web_and_four_workers_keep_order_and_exactly_once(h, bridge_env, workers):
    port = _free_port()
    env = {**os.environ, **bridge_env, "PORT": str(port), "WEB_CONCURRENCY": "2", "LOG_LEVEL": "WARNING",
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(run_log("scale-out.log"), "w")
    procs = [subprocess.Popen(["bash", "-c", "exec " + _web_line()], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)]
    for i in range(2):  # 2 more workers: 4 with the harness's own 2
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler", "--worker-class",
             "bridge.worker.BridgeWorker", "--serializer", "json", "--url", bridge_env["REDIS_URL"],
             "--name", f"{bridge_env['BRIDGE_NAMESPACE']}-extra{i}", bridge_env["BRIDGE_NAMESPACE"],
             bridge_env["BRIDGE_NAMESPACE"] + "-low"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _healthy(base), timeout=60), "gunicorn did not start"
        for friend in FRIENDS:
            h.line.add_user(friend, f"友だち {friend[1]}")
        events = {f: [h.webhooks.text(f, f"{f[1]}-{i:02d}") for i in range(PER_FRIEND)] for f in FRIENDS}
        urls = [base + "/line/webhook", h.url + "/line/webhook"]  # gunicorn's 2 workers and the harness's server

        def friend_writes(friend: str) -> None:
            for i, event in enumerate(events[friend]):
                body = h.webhooks.body([event])
                assert send_webhook(urls[i % 2], LINE_SECRET, body).status_code == 200
                if i % 4 == 0:  # LINE redelivers: must not be relayed twice
                    assert send_webhook(urls[(i + 1) % 2], LINE_SECRET, body).status_code == 200

        with ThreadPoolExecutor(len(FRIENDS)) as pool:
            list(pool.map(friend_writes, FRIENDS))

        def relayed(friend: str) -> list[str]:
            conv = h.conv(friend)
            if not conv or not conv.thread_ts:
                return []
            # friend messages that waited together share one Slack post: read them one by one
            return [t for t in shown_texts(h.slack, conv.thread_ts) if t.startswith(friend[1] + "-")]

        for friend in FRIENDS:
            want = [f"{friend[1]}-{i:02d}" for i in range(PER_FRIEND)]
            assert wait_until(lambda: len(relayed(friend)) >= PER_FRIEND, timeout=90), relayed(friend)
            assert relayed(friend) == want  # in order, each exactly once

        # /metrics sums both gunicorn workers (multiprocess mode): every event sent to gunicorn counted once.
        for _ in range(3):
            scraped = requests.get(base + "/metrics", timeout=10).text
            assert f'bridge_webhook_events_total{{outcome="accepted",source="line"}} {len(FRIENDS) * PER_FRIEND // 2}.0' \
                in scraped, [line for line in scraped.splitlines() if "webhook_events" in line]

        senders = [SlackEventSender(base + "/slack/events", h.slack, signing_secret=SLACK_SECRET), h.slack_sender]

        def staff_answers(friend: str) -> None:
            thread = h.conv(friend).thread_ts
            for i in range(6):
                _, resp = senders[i % 2].user_message(TRIAGE, "USTAFF01", f"返信 {friend[1]}-{i}", thread_ts=thread)
                assert resp.status_code == 200

        with ThreadPoolExecutor(len(FRIENDS)) as pool:
            list(pool.map(staff_answers, FRIENDS))
        for friend in FRIENDS:
            want = [f"返信 {friend[1]}-{i}" for i in range(6)]
            assert wait_until(lambda: len(h.line.delivered_texts(friend)) >= 6, timeout=90)
            assert h.line.delivered_texts(friend) == want
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
