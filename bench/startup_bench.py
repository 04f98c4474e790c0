"""Start-up on a big namespace: how long until the web process answers, with old conversations to backfill.

    python bench/startup_bench.py                         # this checkout, 100,000 conversations
    python bench/startup_bench.py --ref main --ref HEAD   # before / after, each from a clean `git archive`

For each tree: a private Redis is seeded with ``--conversations`` conversations as a namespace from
before the archive and /friend holds them (tests.helpers.seed_old_conversations: transcript
entries without ids, notes only in the old list, no name index), then the Procfile's web line
(gunicorn, ``--web-concurrency`` workers) is started from that tree and polled from the moment
it is spawned: the first ``GET /healthz`` answered 200, and the first signed LINE webhook
answered 200 (accepted). Then one rq worker (the Procfile's worker line) is started: when it
registered (took jobs from then on), and when both backfills were marked done.
LINE and Slack are the project's emulators, served by this script.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.harness import free_port  # noqa: E402
from bridge.keys import Keys  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_api import LineEmulator  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402
from emulators.slack_api import SlackEmulator  # noqa: E402
from emulators.line_webhooks import sign  # noqa: E402
from tests.helpers import seed_old_conversations  # noqa: E402

SECRET = "bench-line-secret"
BOT = "U" + "b" * 32
BACKFILLS = ("archive-v1", "friend-names")


def tree_of(ref: str | None, tmp: Path) -> Path:
    """This checkout (None), or ``ref`` exported clean with `git archive`."""
    if ref is None:
        return ROOT
    out = tmp / ref.replace("/", "_")
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def emulators() -> tuple[str, str]:
    """LINE's and Slack's API (the bolt app checks its token at start-up), served in this process."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    line = LineEmulator(channel_access_token="bench-token", channel_secret=SECRET)
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-signing")
    line.url, slack.url = serve_in_thread(line.app).url, serve_in_thread(slack.app).url
    slack.add_channel("CBENCH01", "line-triage", members=["UBOT"])
    return line.url, slack.url


def env_for(redis_url: str, namespace: str, tree: Path, port: int, web_concurrency: int, apis: tuple[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SLACK_", "BRIDGE_", "PROMETHEUS_"))}
    env.update(REDIS_URL=redis_url, BRIDGE_NAMESPACE=namespace, LINE_CHANNEL_SECRET=SECRET,
               LINE_CHANNEL_ACCESS_TOKEN="bench-token", LINE_BOT_USER_ID=BOT, SLACK_BOT_TOKEN="xoxb-bench",
               SLACK_SIGNING_SECRET="bench-signing", SLACK_TRIAGE_CHANNEL="CBENCH01", PUBLIC_BASE_URL="http://127.0.0.1",
               LINE_API_BASE_URL=apis[0], SLACK_API_BASE_URL=apis[1] + "/api/",
               PORT=str(port), WEB_CONCURRENCY=str(web_concurrency), PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1",
               LOG_LEVEL="WARNING", PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return env


def procfile(tree: Path, kind: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in (tree / "Procfile").read_text().splitlines()
                if line.startswith(kind + ":"))


def webhook() -> bytes:
    now = int(time.time() * 1000)
    user = "U" + uuid.uuid4().hex
    event = {"type": "message", "mode": "active", "timestamp": now, "webhookEventId": "01BENCH" + uuid.uuid4().hex[:20].upper(),
             "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex,
             "source": {"type": "user", "userId": user},
             "message": {"type": "text", "id": str(now), "quoteToken": uuid.uuid4().hex, "text": "はじめまして"}}
    return json.dumps({"destination": BOT, "events": [event]}, ensure_ascii=False).encode()


def first_success(label: str, attempt, started: float, out: dict, timeout: float) -> None:
    while time.monotonic() - started < timeout:
        try:
            if attempt():
                out[label] = time.monotonic() - started
                return
        except requests.RequestException:
            pass
        time.sleep(0.02)


def run(tree: Path, count: int, web_concurrency: int, timeout: float, apis: tuple[str, str]) -> dict:
    server = PrivateRedis()
    procs: list[subprocess.Popen] = []
    try:
        namespace = "lsbbench"
        port = free_port()
        env = env_for(server.url, namespace, tree, port, web_concurrency, apis)
        settings = Settings.from_env(env)
        r = redis.Redis.from_url(server.url, decode_responses=True)
        keys = Keys(namespace)
        t = time.monotonic()
        seed_old_conversations(r, keys, count, channel="CBENCH01", marks=settings.config.marks)
        seeded = time.monotonic() - t
        base = f"http://127.0.0.1:{port}"
        out: dict = {"conversations": count, "seeded_s": round(seeded, 1)}
        started = time.monotonic()
        logs = Path(tempfile.mkdtemp(prefix="lsb-startup-bench-logs-"))
        out["logs"] = str(logs)
        procs.append(subprocess.Popen(["bash", "-c", "exec " + procfile(tree, "web")], env=env, cwd=tree,
                                      stdout=open(logs / "web.log", "w"), stderr=subprocess.STDOUT, start_new_session=True))

        def healthy() -> bool:
            return requests.get(base + "/healthz", timeout=1).status_code == 200

        def accepted() -> bool:
            body = webhook()
            resp = requests.post(base + "/line/webhook", data=body, timeout=1,
                                 headers={"Content-Type": "application/json", "X-Line-Signature": sign(SECRET, body)})
            return resp.status_code == 200

        probes = [threading.Thread(target=first_success, args=(label, fn, started, out, timeout))
                  for label, fn in (("web_healthz_200_s", healthy), ("web_webhook_accepted_s", accepted))]
        for p in probes:
            p.start()
        for p in probes:
            p.join()
        worker_started = time.monotonic()
        worker = procfile(tree, "worker").replace("${BRIDGE_NAMESPACE:-lsb}", namespace)
        procs.append(subprocess.Popen(["bash", "-c", f"exec {worker} --url {server.url}"], env=env, cwd=tree,
                                      stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT, start_new_session=True))
        first_success("worker_registered_s", lambda: any(w.startswith("rq:worker:") for w in r.smembers("rq:workers")),
                      worker_started, out, timeout)
        first_success("backfills_done_s", lambda: all(r.get(keys.migration(name=n)) == "done" for n in BACKFILLS),
                      worker_started, out, timeout)
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, 15)
                p.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, 9)
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", action="append", help="git ref to measure (repeatable); default: this checkout")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--web-concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    apis = emulators()
    with tempfile.TemporaryDirectory(prefix="lsb-startup-bench-") as tmp:
        for ref in args.ref or [None]:
            result = run(tree_of(ref, Path(tmp)), args.conversations, args.web_concurrency, args.timeout, apis)
            print(json.dumps({"tree": ref or "checkout", **result}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
