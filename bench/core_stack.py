"""The core benchmark's stack: emulators, the Procfile's web and workers, and what the emulators recorded.

Part of ``bench/core_bench.py`` (the CLI and the phases; see its docstring).
"""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.harness import (CHANNEL, FRIENDS, LINE_SECRET, LINE_TOKEN, NEW_FRIENDS, PROBES, SLACK_SECRET,  # noqa: E402
                           SLACK_TOKEN, STAFF, TOKEN_RE, Procs, free_port, friend_id, rq_idle, wait_for)
from emulators.line_webhooks import WebhookFactory  # noqa: E402


class CoreStack:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.ns = "lsbbench" + uuid.uuid4().hex[:8]
        self.logdir = Path(tempfile.mkdtemp(prefix="lsb-bench-"))
        self.friends = [friend_id(i) for i in range(FRIENDS)]
        self.new_friends = [friend_id(i, "new") for i in range(NEW_FRIENDS)]
        self.probe_friends = [friend_id(i, "probe") for i in range(PROBES)]
        self.factory = WebhookFactory(emulator=None)
        self.commands: list[str] = []
        self.notes: list[str] = []
        self.redis_per_webhook: dict[str, float] = {}
        self.cpu_per_webhook_ms: dict[str, float] = {}
        self.replies_expected = 0  # friend-message tokens the Slack emulator's posts should carry
        self.parents_expected = 0
        # every wait is capped so that the whole run stays under ~3 minutes even when something hangs
        self.deadline = time.time() + args.budget
        self.line_port, self.slack_port, self.bridge_port, self.bare_port = (free_port() for _ in range(4))
        self.line_url = f"http://127.0.0.1:{self.line_port}"
        self.slack_url = f"http://127.0.0.1:{self.slack_port}"
        self.bridge_url = f"http://127.0.0.1:{self.bridge_port}"
        self.bare_url = f"http://127.0.0.1:{self.bare_port}"

    # -- setup --------------------------------------------------------------------------
    def start(self, procs: Procs, env: dict[str, str]) -> None:
        """Start the emulators, then the bridge (web + 2 workers) pointed at them."""
        self.redis_url = env["REDIS_URL"]
        py = sys.executable
        users = " ".join(f"--user {u}:Friend{i:02d}" for i, u in enumerate(self.friends)) + " " + \
            " ".join(f"--user {u}:NewFriend{i:02d}" for i, u in enumerate(self.new_friends + self.probe_friends))
        line_cmd = (f"{py} -m emulators.line_api --host 127.0.0.1 --port {self.line_port} --token {LINE_TOKEN} "
                    f"--secret {LINE_SECRET} {users}")
        slack_cmd = (f"{py} -m emulators.slack_api --host 127.0.0.1 --port {self.slack_port} --bot-token {SLACK_TOKEN} "
                     f"--signing-secret {SLACK_SECRET} --channel {CHANNEL}:triage --quiet")
        procs.start("line-emulator", line_cmd)
        procs.start("slack-emulator", slack_cmd)
        self.commands += [line_cmd.replace(users, f"--user ID:Name x{FRIENDS + NEW_FRIENDS + PROBES}"), slack_cmd]
        if not wait_for(lambda: requests.get(self.line_url + "/_emulator/deliveries", timeout=1).ok, 20, procs):
            raise RuntimeError("LINE emulator did not start")
        # Webhooks carry the bot's user id as `destination`, as LINE's do (the bridge checks it).
        bot = requests.get(self.line_url + "/v2/bot/info", headers={"Authorization": f"Bearer {LINE_TOKEN}"}, timeout=5)
        self.factory.destination = bot.json()["userId"]
        if not wait_for(lambda: requests.get(self.slack_url + "/_emulator/messages", params={"channel": CHANNEL},
                                             timeout=1).ok, 20, procs):
            raise RuntimeError("Slack emulator did not start")
        requests.post(self.slack_url + "/_emulator/users", timeout=5, json={
            "user_id": STAFF, "name": "bench-staff", "real_name": "Bench Staff", "display_name": "staff"}).raise_for_status()

        web, worker = self.procfile()
        self.web_cmd = web.replace("0.0.0.0", "127.0.0.1")  # loopback only
        procs.start("bridge-web", self.web_cmd, {"PORT": str(self.bridge_port)}, stop_signal=signal.SIGINT)
        for i in range(2):
            procs.start(f"bridge-worker-{i}", worker)
        self.commands += [f"PORT={self.bridge_port} WEB_CONCURRENCY={env['WEB_CONCURRENCY']} {self.web_cmd}",
                          f"2 x {worker}"]
        r = redis.Redis.from_url(env["REDIS_URL"])
        if not wait_for(lambda: requests.get(self.bridge_url + "/healthz", timeout=1).ok, 60, procs):
            raise RuntimeError(f"the bridge did not become healthy; see {self.logdir}")
        if not wait_for(lambda: r.scard(f"rq:workers:{self.ns}") >= 2, 60, procs):
            raise RuntimeError(f"the rq workers did not register; see {self.logdir}")
        r.close()

    @staticmethod
    def procfile() -> tuple[str, str]:
        entries = {}
        for line in (ROOT / "Procfile").read_text().splitlines():
            name, sep, cmd = line.partition(":")
            if sep and name.strip() and not name.startswith("#"):
                entries[name.strip()] = cmd.strip()
        return entries["web"], entries["worker"]

    # -- helpers against the emulators --------------------------------------------------
    def bot_replies_posted(self) -> tuple[int, int]:
        """(thread parents, bot replies in their threads) as stored by the Slack emulator."""
        parents = requests.get(self.slack_url + "/_emulator/messages", params={"channel": CHANNEL}, timeout=10).json()
        return len(parents), sum(int(p.get("reply_count") or 0) for p in parents)

    def wait_relayed(self, timeout: float, procs: Procs) -> bool:
        def done() -> bool:
            # Friend messages are counted by their tokens, not by thread replies: several waiting
            # messages of one friend are relayed as one (batched) Slack post.
            parents, _ = self.bot_replies_posted()
            return parents >= self.parents_expected and len(self.post_times()) >= self.replies_expected
        return wait_for(done, self.budget(timeout), procs, interval=0.5)

    def post_times(self) -> dict[str, float]:
        """token -> time the Slack emulator received the chat.postMessage carrying it."""
        calls = requests.get(self.slack_url + "/_emulator/calls", params={"method": "chat.postMessage"}, timeout=30).json()
        out: dict[str, float] = {}
        for c in calls:
            if c["status"] == 200 and c["response"].get("ok"):
                for m in TOKEN_RE.finditer(c["args"].get("text") or ""):  # a batched post carries several
                    out.setdefault(m.group(0), c["time"])
        return out

    def delivery_times(self) -> dict[str, tuple[float, str]]:
        """token -> (time the LINE emulator recorded the delivery, via)."""
        out: dict[str, tuple[float, str]] = {}
        for d in requests.get(self.line_url + "/_emulator/deliveries", timeout=30).json():
            for m in d["messages"]:
                found = TOKEN_RE.search(m.get("text") or "")
                if found:
                    out.setdefault(found.group(0), (d["time"], d["via"]))
        return out

    def webhook(self, friend: str, text: str, real_reply_token: bool = False) -> bytes:
        event = self.factory.text(friend, text)
        if real_reply_token:
            # A token the LINE emulator knows, so a staff reply can use the (free) reply API as in production.
            event["replyToken"] = requests.post(self.line_url + "/_emulator/reply-tokens", json={"source_id": friend},
                                                timeout=5).json()["replyToken"]
        return self.factory.body([event])

    def tok(self, kind: str, i: int) -> str:
        return f"[{kind}-{i:05d}-{self.run_id}]"

    def budget(self, timeout: float) -> float:
        return max(1.0, min(timeout, self.deadline - time.time()))

    def wait_idle(self, timeout: float, procs: Procs) -> float | None:
        """Wait until the rq queue and every inbox of this run are empty; returns when (epoch) or None."""
        r = redis.Redis.from_url(self.redis_url)
        try:
            if wait_for(lambda: rq_idle(r, self.ns), self.budget(timeout), procs, interval=0.1):
                return time.time()
            return None
        finally:
            r.close()
