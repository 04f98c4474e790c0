"""The rate-limit benchmark's stack and observations: processes, webhooks, what the Slack emulator recorded.

Part of ``bench/ratelimit_bench.py`` (the CLI; see its docstring): :class:`RateBench` starts the
emulators and the Procfile's web and workers, sends signed webhooks and reads back which messages
Slack showed when, and the calls and capacity of a time window.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.core_bench import Bench  # noqa: E402
from bench.harness import (CHANNEL, LINE_SECRET, LINE_TOKEN, SLACK_SECRET, SLACK_TOKEN, STAFF, Procs, free_port,  # noqa: E402
                           friend_id, paced, wait_for)
from bridge.keys import Keys  # noqa: E402
from emulators.line_webhooks import WebhookFactory, send_webhook  # noqa: E402

TOKEN_RE = re.compile(r"\[(?:setup|ra|rb|rc)-\d+-[0-9a-f]+\]")
EMU_POST_LIMIT = (1.0, 5.0)
# Phase B before a new conversation cost one post (bare parent + thread message), same machine and
# command: kept to print beside today's figures.
B_BEFORE = {"visible_s": 196.0, "posts_per_chat": 2}


class RateBench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.ns = "lsbrl" + uuid.uuid4().hex[:8]
        self.logdir = Path(tempfile.mkdtemp(prefix="lsb-ratebench-"))
        self.friends = [friend_id(i) for i in range(args.friends)]
        self.new_friends = [friend_id(i, "new") for i in range(args.new_friends)]
        self.storm_friends = [friend_id(i, "storm") for i in range(args.storm_replies)]
        self.factory = WebhookFactory(emulator=None)
        self.line_port, self.slack_port, self.bridge_port = (free_port() for _ in range(3))
        self.line_url = f"http://127.0.0.1:{self.line_port}"
        self.slack_url = f"http://127.0.0.1:{self.slack_port}"
        self.bridge_url = f"http://127.0.0.1:{self.bridge_port}"
        self.commands: list[str] = []
        self.worker_cmd = ""

    # -- processes ------------------------------------------------------------------------
    def start(self, procs: Procs, env: dict[str, str]) -> None:
        py = sys.executable
        users = " ".join(f"--user {u}:Friend{i:03d}" for i, u in enumerate(self.friends)) + " " + \
            " ".join(f"--user {u}:New{i:03d}" for i, u in enumerate(self.new_friends)) + " " + \
            " ".join(f"--user {u}:Storm{i:03d}" for i, u in enumerate(self.storm_friends))
        line_cmd = (f"{py} -m emulators.line_api --host 127.0.0.1 --port {self.line_port} --token {LINE_TOKEN} "
                    f"--secret {LINE_SECRET} {users}")
        slack_cmd = (f"{py} -m emulators.slack_api --host 127.0.0.1 --port {self.slack_port} --bot-token {SLACK_TOKEN} "
                     f"--signing-secret {SLACK_SECRET} --channel {CHANNEL}:triage --quiet")
        procs.start("line-emulator", line_cmd)
        procs.start("slack-emulator", slack_cmd)
        self.commands += [line_cmd.replace(users, f"--user ID:Name x{len(self.friends) + len(self.new_friends) + len(self.storm_friends)}"),
                          slack_cmd]
        if not wait_for(lambda: requests.get(self.line_url + "/_emulator/deliveries", timeout=1).ok, 20, procs):
            raise RuntimeError("LINE emulator did not start")
        # Webhooks carry the bot's user id as `destination`, as LINE's do (the bridge checks it).
        bot = requests.get(self.line_url + "/v2/bot/info", headers={"Authorization": f"Bearer {LINE_TOKEN}"}, timeout=5)
        self.factory.destination = bot.json()["userId"]
        if not wait_for(lambda: requests.get(self.slack_url + "/_emulator/rate_limits", timeout=1).ok, 20, procs):
            raise RuntimeError("Slack emulator did not start")
        requests.post(self.slack_url + "/_emulator/users", timeout=5, json={
            "user_id": STAFF, "name": "bench-staff", "real_name": "Bench Staff", "display_name": "staff"}).raise_for_status()
        web, self.worker_cmd = Bench.procfile()
        web = web.replace("0.0.0.0", "127.0.0.1")
        procs.start("bridge-web", web, {"PORT": str(self.bridge_port)}, stop_signal=signal.SIGINT)
        self.commands += [f"PORT={self.bridge_port} WEB_CONCURRENCY={env['WEB_CONCURRENCY']} {web}",
                          f"2 x {self.worker_cmd}"]
        if not wait_for(lambda: requests.get(self.bridge_url + "/healthz", timeout=1).ok, 60, procs):
            raise RuntimeError(f"the bridge did not become healthy; see {self.logdir}")

    def start_workers(self, procs: Procs, extra_env: dict[str, str], tag: str) -> None:
        for p in [p for p in procs.procs if p.name.startswith("bridge-worker-")]:
            procs.stop(p)
        r = redis.Redis.from_url(procs.env["REDIS_URL"])
        wait_for(lambda: r.scard(f"rq:workers:{self.ns}") == 0, 20, procs)
        for i in range(2):
            procs.start(f"bridge-worker-{tag}-{i}", self.worker_cmd, extra_env)
        if not wait_for(lambda: r.scard(f"rq:workers:{self.ns}") >= 2, 60, procs):
            raise RuntimeError(f"the rq workers did not register; see {self.logdir}")
        r.close()

    # -- load and observation ---------------------------------------------------------------
    def tok(self, kind: str, i: int) -> str:
        return f"[{kind}-{i:05d}-{self.run_id}]"

    def send(self, friend: str, text: str) -> float:
        body = self.factory.body([self.factory.text(friend, text)])
        sent = time.time()
        resp = send_webhook(self.bridge_url + "/line/webhook", LINE_SECRET, body)
        if resp.status_code != 200:
            raise RuntimeError(f"webhook answered {resp.status_code}: {resp.text[:200]}")
        return sent

    def post_calls(self) -> list[dict[str, Any]]:
        return requests.get(self.slack_url + "/_emulator/calls", params={"method": "chat.postMessage"}, timeout=300).json()

    def visible(self, calls: list[dict[str, Any]] | None = None) -> dict[str, list[float]]:
        """token -> times of the successful chat.postMessage calls whose text contains it."""
        out: dict[str, list[float]] = {}
        for c in calls if calls is not None else self.post_calls():
            if c["status"] == 200 and c["response"].get("ok"):
                for token in TOKEN_RE.findall(c["args"].get("text") or ""):
                    out.setdefault(token, []).append(c["time"])
        return out

    def wait_visible(self, tokens: list[str], timeout: float, procs: Procs) -> bool:
        wanted = set(tokens)
        return wait_for(lambda: wanted <= set(self.visible()), timeout, procs, interval=1.0)

    def main_queue_idle(self) -> bool:
        r = redis.Redis.from_url(self.redis_url)
        try:
            if r.llen(f"rq:queue:{self.ns}"):
                return False
            return not any(r.llen(k) for k in r.scan_iter(match=Keys(self.ns).prefix + "inbox:*", count=1000))
        finally:
            r.close()

    def thread_order_ok(self, friends_tokens: dict[str, list[str]]) -> tuple[int, int, list[str]]:
        """(friends whose messages appear in their thread in the order sent, friends checked, details of the others)."""
        ok = 0
        bad: list[str] = []
        for friend, tokens in friends_tokens.items():
            conv = redis.Redis.from_url(self.redis_url, decode_responses=True).hget(
                Keys(self.ns).conv(conv_id=f"default-{friend}"), "thread_ts")
            msgs = requests.get(self.slack_url + "/_emulator/messages",
                                params={"channel": CHANNEL, "thread_ts": conv}, timeout=30).json()
            seen = [t for m in msgs for t in TOKEN_RE.findall(m.get("text") or "") if t in set(tokens)]
            ok += seen == tokens
            if seen != tokens:
                bad.append(f"{friend[:9]}: sent {[t[4:9] for t in tokens]}, thread shows {[t[4:9] for t in seen]}")
        return ok, len(friends_tokens), bad

    def window_stats(self, since: float, until: float) -> dict[str, Any]:
        """Calls of the bridge to Slack in [since, until] (emulator clock) and the limit's capacity."""
        calls = requests.get(self.slack_url + "/_emulator/calls", timeout=300).json()
        inside = [c for c in calls if since <= c["time"] <= until]
        posts = [c for c in inside if c["method"] == "chat.postMessage"]
        updates = [c for c in inside if c["method"] == "chat.update"]
        ok_posts = [c for c in posts if c["status"] == 200]
        first, last = (min(c["time"] for c in posts), max(c["time"] for c in posts)) if posts else (since, until)
        cap = requests.get(self.slack_url + "/_emulator/rate_limits", timeout=30,
                           params={"channel": CHANNEL, "since": first, "until": last}).json()["capacity"]
        return {
            "posts": len(posts), "posts_ok": len(ok_posts), "posts_429": sum(c["status"] == 429 for c in posts),
            "updates": len(updates), "updates_429": sum(c["status"] == 429 for c in updates),
            "all_calls": len(inside), "all_429": sum(c["status"] == 429 for c in inside),
            "capacity": cap.get("chat.postMessage", 0), "first_post": first, "last_post": last,
        }


def setup_threads(b: RateBench, procs: Procs) -> float:
    """Every friend writes once with both limiters off: their threads exist afterwards."""
    t0 = time.time()
    tokens = [b.tok("setup", i) for i in range(len(b.friends))]
    paced(len(tokens), 25.0, lambda i: b.send(b.friends[i], f"こんにちは {tokens[i]}"))
    if not b.wait_visible(tokens, 180, procs):
        raise RuntimeError("setup: not every friend's first message reached Slack")
    wait_for(b.main_queue_idle, 60, procs, interval=0.5)
    return time.time() - t0
