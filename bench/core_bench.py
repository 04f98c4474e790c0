"""Core benchmark of the bridge as deployed: webhook ack latency and end-to-end relay latency.

Everything runs on loopback, in separate processes:

* Redis: ``REDIS_URL`` when set (a fresh ``BRIDGE_NAMESPACE`` lsbbench<hex> is used and its
  keys, rq's included, are deleted afterwards), else a private ``redis-server``
  (:class:`devtools.devredis.PrivateRedis`).
* the LINE and Slack emulators (``python -m emulators.line_api`` / ``python -m emulators.slack_api``),
* the bridge exactly as the Procfile runs it: gunicorn (``WEB_CONCURRENCY=2`` workers, 4 threads;
  bound to 127.0.0.1 instead of 0.0.0.0) and two ``rq worker --with-scheduler`` processes,
* for the baseline, ``bench/bare_flask_app.py`` under the same gunicorn command.

Phases:

1. ack: N signed LINE webhooks (one text event each, from 50 friends, WebhookFactory(emulator=None)
   + sign()) at a fixed concurrency, closed loop, one requests.Session per client thread. Run
   against the bridge twice: with the rq workers SIGSTOPped (the web tier alone) and with them
   live (relaying the burst on the same CPUs, as in production); then against the bare Flask app.
   Latency p50/p90/p99, throughput, ratios bridge/bare. The relay of both bursts is timed too
   (all posted to Slack; rq queue empty), and 5 friends who were not in the burst write right
   after it was relayed.
2. LINE→Slack: on an idle bridge, M messages at a steady rate from the same 50 friends (their
   threads exist); latency = webhook POST sent → ``chat.postMessage`` carrying the text, as
   recorded (``RecordedCall.time``) by the Slack emulator. Plus the first message of 20 new
   friends (creates the conversation and its thread parent first). Their reply tokens are real
   (issued by the LINE emulator), so staff replies can use the reply API as in production.
3. Slack→LINE: M staff replies in those threads at the same rate (SlackEventSender driving the
   out-of-process Slack emulator); latency = Events API POST sent → delivery recorded by the LINE
   emulator (``Delivery.time``, reply or push).
4. Integrity: no duplicate posts/deliveries, per-conversation order kept.

Prints the parameters, one table per phase and a summary. Exit status 0 when every message
arrived and nothing looked wrong. All processes run in their own process groups and are stopped
(and the Redis keys deleted) in ``finally``, also on Ctrl-C / SIGTERM.

    .venv/bin/python bench/core_bench.py [--requests 1000] [--concurrency 8] [--e2e 200] [--rate 20]
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bridge.keys import Keys  # noqa: E402
from bridge.model import conv_key  # noqa: E402
from bridge.store import Store  # noqa: E402
from emulators.line_webhooks import WebhookFactory, sign  # noqa: E402
from emulators.slack_events import SlackEventSender  # noqa: E402

LINE_SECRET = "bench-line-secret"
LINE_TOKEN = "bench-line-token"
SLACK_TOKEN = "xoxb-bench"
SLACK_SECRET = "bench-signing-secret"
CHANNEL = "CBENCH01"
STAFF = "UBENCHSTAFF"
FRIENDS = 50
NEW_FRIENDS = 20
WARMUP = 64
PROBES = 5
BARE_APP = "'bench.bare_flask_app:create_app()'"
BRIDGE_APP = "'handlers.app:create_app()'"
TOKEN_RE = re.compile(r"\[(?:ack|probe|l2s|new|s2l)-\d+-[0-9a-f]+\]")


def friend_id(i: int, kind: str = "friend") -> str:
    return "U" + hashlib.md5(f"bench-{kind}-{i}".encode()).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fmt(x: float, digits: int = 1) -> str:
    return "-" if x != x else f"{x:.{digits}f}"  # NaN -> "-"


# ------------------------------------------------------------------------------------------
# processes
# ------------------------------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    stop_signal: int
    command: str


class Procs:
    """Children started in their own session (process group); stopped group-wide, always."""

    def __init__(self, logdir: Path, env: dict[str, str]):
        self.logdir = logdir
        self.env = env
        self.procs: list[Proc] = []

    def start(self, name: str, command: str, extra_env: dict[str, str] | None = None,
              stop_signal: int = signal.SIGTERM) -> Proc:
        log = open(self.logdir / f"{name}.log", "wb")
        env = {**self.env, **(extra_env or {})}
        # bash expands ${VAR:-default} exactly like the Procfile runner would; exec keeps the pid.
        popen = subprocess.Popen(["bash", "-c", "exec " + command], env=env, cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        proc = Proc(name, popen, stop_signal, command)
        self.procs.append(proc)
        return proc

    def _signal_groups(self, prefix: str, sig: int) -> None:
        for p in self.procs:
            if p.name.startswith(prefix) and p.popen.poll() is None:
                try:
                    os.killpg(p.popen.pid, sig)
                except ProcessLookupError:
                    pass

    def pause(self, prefix: str) -> None:
        """SIGSTOP whole process groups (rq worker, its scheduler process and work horses)."""
        self._signal_groups(prefix, signal.SIGSTOP)

    def resume(self, prefix: str) -> None:
        self._signal_groups(prefix, signal.SIGCONT)

    def check(self) -> None:
        for p in self.procs:
            if p.popen.poll() is not None:
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}; see {self.logdir / (p.name + '.log')}")

    def stop(self, proc: Proc, timeout: float = 10.0) -> None:
        pgid = proc.popen.pid  # start_new_session: the child leads its own group
        if proc.popen.poll() is None:
            try:
                os.killpg(pgid, signal.SIGCONT)  # in case it was paused
            except ProcessLookupError:
                pass
            try:
                os.kill(proc.popen.pid, proc.stop_signal)
                proc.popen.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:  # whatever is left of the group (gunicorn workers, rq work horses)
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)


def wait_for(predicate: Callable[[], Any], timeout: float, procs: Procs | None = None, interval: float = 0.1) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if procs is not None:
            procs.check()
        try:
            if predicate():
                return True
        except (requests.RequestException, redis.RedisError, ValueError):
            pass
        time.sleep(interval)
    return False


# ------------------------------------------------------------------------------------------
# load generation
# ------------------------------------------------------------------------------------------
LINE_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0"}


@dataclass
class AckResult:
    latencies_ms: list[float]
    statuses: dict[int, int]
    wall_s: float
    started_at: float

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else float("nan")


def closed_loop(url: str, bodies: list[bytes], concurrency: int) -> AckResult:
    """Send every body once from ``concurrency`` threads (one requests.Session each), back to back."""
    n = len(bodies)
    signed = [(b, sign(LINE_SECRET, b)) for b in bodies]
    latencies: list[float] = [0.0] * n
    statuses: list[int] = [0] * n
    counter = itertools.count()
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)

    def run() -> None:
        session = requests.Session()
        start_gate.wait()
        while True:
            with lock:
                i = next(counter)
            if i >= n:
                break
            body, signature = signed[i]
            t0 = time.perf_counter()
            try:
                r = session.post(url, data=body, headers={**LINE_HEADERS, "X-Line-Signature": signature}, timeout=30)
                status = r.status_code
            except requests.RequestException:
                status = 0
            latencies[i] = (time.perf_counter() - t0) * 1000
            statuses[i] = status
        session.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    started_at = time.time()
    t0 = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    counts: dict[int, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return AckResult(latencies, counts, wall, started_at)


def paced(n: int, rate: float, task: Callable[[int], Any], workers: int = 8) -> tuple[list[Any], float]:
    """Open loop: start task(i) at t0 + i/rate on a small pool; returns results and the achieved rate."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        t0 = time.perf_counter()
        futures = []
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(task, i))
        submitted = time.perf_counter() - t0
        results = [f.result() for f in futures]
    achieved = (n - 1) / submitted if n > 1 and submitted > 0 else float("nan")
    return results, achieved


class TimedSender(SlackEventSender):
    """Remembers when the event itself was POSTed (after the message was stored in the emulator)."""

    last_send = 0.0

    def send_event(self, event: dict[str, Any], **kw: Any) -> requests.Response:
        self.last_send = time.time()
        return super().send_event(event, **kw)


# ------------------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------------------
def rq_idle(r: redis.Redis, ns: str) -> bool:
    """No queued/running jobs and no pending inbox items for this namespace."""
    for queue in (ns, f"{ns}-low"):
        if r.llen(f"rq:queue:{queue}") or r.zcard(f"rq:wip:{queue}"):
            return False
    return not any(r.llen(k) for k in r.scan_iter(match=f"{ns}:v1:inbox:*", count=1000))


def cleanup_redis(url: str, ns: str) -> tuple[int, list[str]]:
    """Delete every key this run created: the bridge namespace and rq's keys for queue ``ns``.

    Returns (deleted, leftovers) where leftovers are keys still matching this run afterwards.
    """
    r = redis.Redis.from_url(url, decode_responses=True)
    doomed: set[str] = set(r.scan_iter(match=f"{ns}:*", count=1000))
    for queue in (ns, f"{ns}-low"):  # queue, registries, workers-by-queue, scheduler lock
        doomed |= set(r.scan_iter(match=f"rq:*:{queue}", count=1000))
    job_ids: set[str] = set()
    job_keys = [k for k in r.scan_iter(match="rq:job:*", count=1000) if k.count(":") == 2]
    pipe = r.pipeline(transaction=False)
    for k in job_keys:
        pipe.hget(k, "origin")
    for k, origin in zip(job_keys, pipe.execute(raise_on_error=False)):
        if origin in (ns, f"{ns}-low"):
            job_ids.add(k.split(":", 2)[2])
    if job_ids:
        for pattern, part in (("rq:job:*", 2), ("rq:results:*", 2), ("rq:executions:*", 2), ("rq:execution:*", 2)):
            for k in r.scan_iter(match=pattern, count=1000):
                if k.split(":")[part] in job_ids:
                    doomed.add(k)
    worker_keys = [k for k in r.scan_iter(match="rq:worker:*", count=1000)]
    pipe = r.pipeline(transaction=False)
    for k in worker_keys:
        pipe.hget(k, "queues")
    our_workers = [k for k, q in zip(worker_keys, pipe.execute(raise_on_error=False)) if q and ns in q.split(",")]
    doomed |= set(our_workers)
    deleted = 0
    doomed_list = sorted(doomed)
    for i in range(0, len(doomed_list), 500):
        deleted += r.delete(*doomed_list[i:i + 500])
    if our_workers:
        r.srem("rq:workers", *our_workers)
    r.srem("rq:queues", f"rq:queue:{ns}", f"rq:queue:{ns}-low")
    leftovers = list(r.scan_iter(match=f"{ns}:*", count=1000)) + list(r.scan_iter(match=f"rq:*{ns}*", count=1000))
    r.close()
    return deleted, leftovers


# ------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------
@dataclass
class Latencies:
    label: str
    values_ms: list[float] = field(default_factory=list)
    expected: int = 0
    rate: float = float("nan")
    note: str = ""

    @property
    def lost(self) -> int:
        return self.expected - len(self.values_ms)


class Bench:
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

    # -- phases -------------------------------------------------------------------------
    def warmup(self, url: str) -> None:
        empty = [self.factory.body([]) for _ in range(WARMUP)]  # LINE's "Verify" call: answered, nothing queued
        res = closed_loop(url + "/line/webhook", empty, self.args.concurrency)
        if res.ok != WARMUP:
            raise RuntimeError(f"warm-up against {url} failed: {res.statuses}")

    def ack_bodies(self, offset: int = 0) -> list[bytes]:
        texts = ["明日の予約を15時に変更できますか？", "注文した商品がまだ届きません", "営業時間を教えてください",
                 "ありがとうございました！", "ポイントが反映されていません"]
        return [self.factory.body([self.factory.text(self.friends[i % FRIENDS], f"{texts[i % len(texts)]} {self.tok('ack', i)}")])
                for i in range(offset, offset + self.args.requests)]

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

    def phase_ack_bridge(self, procs: Procs) -> dict[str, Any]:
        """Two ack runs of N webhooks each: workers paused (web tier alone), then workers live (production)."""
        out: dict[str, Any] = {}
        a = self.args
        self.warmup(self.bridge_url)
        self.parents_expected += FRIENDS

        # Run A: rq workers (and their scheduler) SIGSTOPped: the web tier alone, comparable to the bare app.
        procs.pause("bridge-worker-")
        try:
            out["ack_paused"] = closed_loop(self.bridge_url + "/line/webhook", self.ack_bodies(0), a.concurrency)
        finally:
            resumed = time.time()
            procs.resume("bridge-worker-")
        procs.check()
        self.replies_expected += out["ack_paused"].ok
        # Relay of a queued backlog of N events: pure worker throughput.
        if not self.wait_relayed(a.drain_timeout, procs):
            self.notes.append(f"queued backlog: not fully relayed to Slack within {a.drain_timeout:.0f}s")

        idle_at = self.wait_idle(a.drain_timeout, procs)
        if idle_at is None:
            self.notes.append(f"queued backlog: rq queue not empty {a.drain_timeout:.0f}s after resuming")
        posts = self.post_times()
        times = [t for k, t in posts.items() if k.startswith("[ack-") and int(k.split("-")[1]) < a.requests]
        out["backlog_relayed_s"] = (max(times) - resumed) if times else float("nan")
        out["backlog_idle_s"] = (idle_at - resumed) if idle_at else float("nan")

        # Run B: workers live, relaying while the web tier acks (as in production).
        res = closed_loop(self.bridge_url + "/line/webhook", self.ack_bodies(a.requests), a.concurrency)
        out["ack_live"] = res
        procs.check()
        self.replies_expected += res.ok
        if not self.wait_relayed(a.drain_timeout, procs):
            self.notes.append(f"live burst: not fully relayed to Slack within {a.drain_timeout:.0f}s")
        # Probe: friends who were not part of the burst write as soon as every burst message is in
        # Slack, while the rq queue may still hold the burst's drain jobs (one is enqueued per event).
        session = requests.Session()
        probes: dict[str, float] = {}
        for i in range(PROBES):
            token = self.tok("probe", i)
            body = self.factory.body([self.factory.text(self.probe_friends[i], f"はじめまして {token}")])
            probes[token] = time.time()
            session.post(self.bridge_url + "/line/webhook", data=body, timeout=30,
                         headers={**LINE_HEADERS, "X-Line-Signature": sign(LINE_SECRET, body)})
            time.sleep(0.1)
        session.close()
        self.replies_expected += PROBES
        self.parents_expected += PROBES
        idle_at = self.wait_idle(a.drain_timeout, procs)
        if idle_at is None:
            self.notes.append(f"live burst: rq queue not empty {a.drain_timeout:.0f}s after the burst")
        if not self.wait_relayed(a.drain_timeout, procs):
            self.notes.append("probes after the burst: not all relayed")
        posts = self.post_times()
        times = [t for k, t in posts.items() if k.startswith("[ack-") and int(k.split("-")[1]) >= a.requests]
        out["live_relayed_s"] = (max(times) - res.started_at) if times else float("nan")
        out["live_idle_s"] = (idle_at - res.started_at) if idle_at else float("nan")
        probe = Latencies("LINE→Slack, new friend right after a burst", expected=PROBES, rate=10.0)
        probe.values_ms = [(posts[k] - t) * 1000 for k, t in probes.items() if k in posts]
        out["probe"] = probe
        return out

    def phase_ack_bare(self, procs: Procs) -> AckResult:
        cmd = self.web_cmd.replace(BRIDGE_APP, BARE_APP)
        if cmd == self.web_cmd:
            raise RuntimeError(f"could not find {BRIDGE_APP} in the Procfile web command")
        self.commands.append(f"PORT={self.bare_port} WEB_CONCURRENCY=2 {cmd}")
        bare = procs.start("bare-web", cmd, {"PORT": str(self.bare_port)}, stop_signal=signal.SIGINT)
        try:
            probe = self.factory.body([])
            ok = wait_for(lambda: requests.post(self.bare_url + "/line/webhook", data=probe, timeout=1, headers={
                **LINE_HEADERS, "X-Line-Signature": sign(LINE_SECRET, probe)}).status_code == 200, 60, procs)
            if not ok:
                raise RuntimeError(f"bare Flask app did not start; see {self.logdir}")
            self.warmup(self.bare_url)
            return closed_loop(self.bare_url + "/line/webhook", self.ack_bodies(), self.args.concurrency)
        finally:
            procs.stop(bare)

    def _line_to_slack(self, label: str, kind: str, senders: list[str], n: int, procs: Procs,
                       new_threads: bool) -> Latencies:
        bodies = [(self.tok(kind, i), self.webhook(senders[i % len(senders)], f"予約の件で質問です {self.tok(kind, i)}",
                                                   real_reply_token=True)) for i in range(n)]
        local = threading.local()
        sent: dict[str, float] = {}
        failures: list[int] = []

        def task(i: int) -> None:
            if not hasattr(local, "s"):
                local.s = requests.Session()
            token, body = bodies[i]
            headers = {**LINE_HEADERS, "X-Line-Signature": sign(LINE_SECRET, body)}
            t = time.time()
            r = local.s.post(self.bridge_url + "/line/webhook", data=body, headers=headers, timeout=30)
            sent[token] = t
            if r.status_code != 200:
                failures.append(r.status_code)

        _, achieved = paced(n, self.args.rate, task)
        if failures:
            self.notes.append(f"{label}: {len(failures)} webhooks answered {sorted(set(failures))}")
        if new_threads:
            self.parents_expected += len(set(senders[i % len(senders)] for i in range(n)))
        self.replies_expected += n - len(failures)
        if not self.wait_relayed(self.args.drain_timeout, procs):
            self.notes.append(f"{label}: not fully relayed within {self.args.drain_timeout:.0f}s")
        if self.wait_idle(self.args.drain_timeout, procs) is None:
            self.notes.append(f"{label}: rq queue not empty {self.args.drain_timeout:.0f}s after the phase")
        posts = self.post_times()
        lat = Latencies(label, expected=n, rate=achieved)
        lat.values_ms = [(posts[k] - t) * 1000 for k, t in sent.items() if k in posts]
        return lat

    def phase_slack_to_line(self, env: dict[str, str], procs: Procs) -> Latencies:
        store = Store(redis.Redis.from_url(env["REDIS_URL"], decode_responses=True), Keys(self.ns))
        threads = {}
        for f in self.friends:
            conv = store.get_conversation(conv_key("default", f))
            if conv is None or not conv.thread_ts:
                raise RuntimeError(f"no Slack thread for friend {f}")
            threads[f] = conv.thread_ts
        store.r.close()
        n = self.args.e2e
        local = threading.local()
        sent: dict[str, float] = {}
        failures: list[str] = []

        # Warm the Slack events endpoint (bolt) with an event the listener filters out at once.
        warm = TimedSender(self.bridge_url + "/slack/events", None, signing_secret=SLACK_SECRET, emulator_url=self.slack_url)
        for _ in range(8):
            warm.send_event({"type": "message", "channel": "CBENCHOTHER", "user": STAFF, "text": "warm-up",
                             "ts": f"{time.time():.6f}", "event_ts": f"{time.time():.6f}", "channel_type": "channel"})

        def task(i: int) -> None:
            if not hasattr(local, "sender"):
                local.sender = TimedSender(self.bridge_url + "/slack/events", None, signing_secret=SLACK_SECRET,
                                           emulator_url=self.slack_url)
            token = self.tok("s2l", i)
            friend = self.friends[i % FRIENDS]
            _, resp = local.sender.user_message(CHANNEL, STAFF, f"ご連絡ありがとうございます {token}",
                                                thread_ts=threads[friend])
            sent[token] = local.sender.last_send
            if resp.status_code != 200:
                failures.append(f"{resp.status_code}")

        _, achieved = paced(n, self.args.rate, task)
        if failures:
            self.notes.append(f"Slack→LINE: {len(failures)} events answered {sorted(set(failures))}")
        deliveries: dict[str, tuple[float, str]] = {}

        def delivered() -> bool:
            deliveries.update(self.delivery_times())
            return all(k in deliveries for k in sent)
        if not wait_for(delivered, self.budget(self.args.drain_timeout), procs, interval=0.5):
            self.notes.append(f"Slack→LINE: not all delivered within {self.args.drain_timeout:.0f}s")
        lat = Latencies("Slack→LINE, staff reply in thread", expected=n, rate=achieved)
        lat.values_ms = [(deliveries[k][0] - t) * 1000 for k, t in sent.items() if k in deliveries]
        vias: dict[str, list[float]] = {}
        for k, t in sent.items():
            if k in deliveries:
                vias.setdefault(deliveries[k][1], []).append((deliveries[k][0] - t) * 1000)
        lat.note = ", ".join(f"{via} {len(v)} (p50 {fmt(pct(v, 50))} / p99 {fmt(pct(v, 99))} ms)"
                             for via, v in sorted(vias.items()))
        # let the 📤 reactions etc. finish before the workers are stopped
        self.wait_idle(15, procs)
        return lat


def integrity(bench: Bench) -> dict[str, int]:
    """Duplicates and per-conversation ordering of everything the emulators received."""
    calls = requests.get(bench.slack_url + "/_emulator/calls", params={"method": "chat.postMessage"}, timeout=30).json()
    posted: dict[str, list[float]] = {}
    for c in calls:
        if c["status"] == 200 and c["response"].get("ok"):
            for m in TOKEN_RE.finditer(c["args"].get("text") or ""):
                posted.setdefault(m.group(0), []).append(c["time"])
    delivered: dict[str, list[float]] = {}
    for d in requests.get(bench.line_url + "/_emulator/deliveries", timeout=30).json():
        for msg in d["messages"]:
            m = TOKEN_RE.search(msg.get("text") or "")
            if m:
                delivered.setdefault(m.group(0), []).append(d["time"])

    def inversions(kind: str, seen: dict[str, list[float]]) -> int:
        # messages i and i + FRIENDS belong to the same conversation and were sent 2.5 s apart (at 20/s)
        out = 0
        for i in range(bench.args.e2e - FRIENDS):
            a, b = seen.get(bench.tok(kind, i)), seen.get(bench.tok(kind, i + FRIENDS))
            if a and b and min(b) < min(a):
                out += 1
        return out

    return {
        "duplicate Slack posts": sum(len(v) - 1 for v in posted.values()),
        "duplicate LINE deliveries": sum(len(v) - 1 for v in delivered.values()),
        "LINE→Slack out of order (per thread)": inversions("l2s", posted),
        "Slack→LINE out of order (per friend)": inversions("s2l", delivered),
    }


def log_problems(logdir: Path) -> list[str]:
    """Lines of the bridge's logs that look like trouble (tracebacks, errors, retries)."""
    out = []
    for path in sorted(logdir.glob("bridge-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if re.search(r"Traceback|\bERROR\b|WARNING|dead-letter|retrying", line):
                out.append(f"{path.name}: {line.strip()[:220]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="webhooks in the ack phase (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads in the ack phase (default 8)")
    parser.add_argument("--e2e", type=int, default=200, help="messages per end-to-end direction (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s in the end-to-end phases (default 20)")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="max seconds to wait for relays per phase")
    parser.add_argument("--budget", type=float, default=165.0, help="cap on the run's waits, seconds (default 165)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs (temp dir) afterwards")
    args = parser.parse_args(argv)
    if args.requests < FRIENDS or args.concurrency < 1 or args.e2e < 1 or args.rate <= 0:
        parser.error(f"--requests must be >= {FRIENDS} (every friend needs a thread), --concurrency and --e2e >= 1, "
                     "--rate > 0")
    if args.concurrency > 32 or args.rate > 100:
        parser.error("keep the load modest: --concurrency <= 32, --rate <= 100")

    def on_term(signum, frame):  # make SIGTERM run the finally blocks too
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    bench = Bench(args)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    private = None
    started = time.time()
    failed = True
    if env.get("REDIS_URL"):
        redis_desc = f"REDIS_URL ({env['REDIS_URL']})"
    else:
        from devtools.devredis import PrivateRedis

        private = PrivateRedis()
        env["REDIS_URL"] = private.url
        redis_desc = f"private redis-server ({private.url})"
    procs = Procs(bench.logdir, env)
    results: dict[str, Any] = {}
    cleanup_msg = ""
    try:
        env.update({
            "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_TRIAGE_CHANNEL": CHANNEL,
            "PUBLIC_BASE_URL": "http://127.0.0.1", "BRIDGE_NAMESPACE": bench.ns, "WEB_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1", "BRIDGE_SEND_DELAY_SECONDS": "0",  # relay latency, not the undo window
            # The emulator here has no rate limit: measure the relay, not Slack's 1 post/s ceiling
            # (bench/ratelimit_bench.py measures that one, with the pacing on).
            "SLACK_RATE_LIMITS": "off",
        })
        for k in ("PORT", "BRIDGE_CONFIG", "LINE_REPLY_TOKEN_TTL", "BRIDGE_LANGUAGE", "LOG_LEVEL"):
            env.pop(k, None)
        env["LINE_API_BASE_URL"] = bench.line_url
        env["SLACK_API_BASE_URL"] = bench.slack_url + "/api/"
        bench.start(procs, env)
        print(f"[{time.time() - started:5.1f}s] bridge up ({bench.bridge_url}); ack phase: 2 x {args.requests} webhooks "
              f"(rq workers paused, then live), concurrency {args.concurrency}", flush=True)
        results.update(bench.phase_ack_bridge(procs))
        print(f"[{time.time() - started:5.1f}s] burst relayed; bare Flask baseline", flush=True)
        results["bare"] = bench.phase_ack_bare(procs)
        print(f"[{time.time() - started:5.1f}s] LINE→Slack: {args.e2e} messages at {args.rate:g}/s", flush=True)
        results["l2s"] = bench._line_to_slack("LINE→Slack, existing thread", "l2s", bench.friends, args.e2e, procs, False)
        print(f"[{time.time() - started:5.1f}s] LINE→Slack: first messages of {NEW_FRIENDS} new friends", flush=True)
        results["new"] = bench._line_to_slack("LINE→Slack, first message (new thread)", "new", bench.new_friends,
                                              NEW_FRIENDS, procs, True)
        print(f"[{time.time() - started:5.1f}s] Slack→LINE: {args.e2e} staff replies at {args.rate:g}/s", flush=True)
        results["s2l"] = bench.phase_slack_to_line(env, procs)
        results["integrity"] = integrity(bench)
        failed = False
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
    except Exception as exc:  # report, then clean up
        traceback.print_exc()
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        # don't let a second Ctrl-C / SIGTERM cut the cleanup short (it is bounded: ~10 s per process at most)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        problems = log_problems(bench.logdir)
        procs.stop_all()
        try:
            deleted, leftovers = cleanup_redis(env["REDIS_URL"], bench.ns)
            cleanup_msg = f"Redis cleanup: deleted {deleted} keys of namespace {bench.ns} and its rq queue"
            if leftovers:
                cleanup_msg += f"; LEFT OVER: {leftovers[:5]}"
            if private is not None:
                size = redis.Redis.from_url(env["REDIS_URL"]).dbsize()
                cleanup_msg += f"; private server dbsize after cleanup = {size}"
        except redis.RedisError as exc:
            cleanup_msg = f"Redis cleanup failed: {exc}"
        if private is not None:
            private.stop()
        keep = args.keep_logs or failed
        if not keep:
            shutil.rmtree(bench.logdir, ignore_errors=True)
    print(cleanup_msg)
    if failed:
        print(f"logs kept in {bench.logdir}", file=sys.stderr)
        return 1
    report(bench, results, redis_desc, time.time() - started, problems)
    if args.keep_logs:
        print(f"logs: {bench.logdir}")
    lost = sum(results[k].lost for k in ("l2s", "new", "s2l", "probe"))
    return 0 if lost == 0 and not bench.notes and not any(results["integrity"].values()) else 1


def report(bench: Bench, results: dict[str, Any], redis_desc: str, elapsed: float, problems: list[str]) -> None:
    a = bench.args
    paused: AckResult = results["ack_paused"]
    live: AckResult = results["ack_live"]
    bare: AckResult = results["bare"]
    from importlib.metadata import PackageNotFoundError, version
    versions = {}
    for name in ("gunicorn", "flask", "rq", "redis", "slack-bolt", "line-bot-sdk"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "?"

    def ratio(x: float, y: float, digits: int = 2) -> str:
        return fmt(x / y if y else float("nan"), digits)

    print()
    print("=" * 100)
    print("LINE ↔ Slack bridge — core benchmark")
    print("=" * 100)
    print("Parameters")
    print(f"  ack phase       N = {a.requests} signed webhooks per run, 1 text event each, from {FRIENDS} friends; "
          f"{a.concurrency} client threads")
    print(f"                  (one requests.Session each), closed loop, after {WARMUP} warm-up requests "
          f"(empty 'Verify' webhooks)")
    print(f"  end to end      M = {a.e2e} per direction at {a.rate:g} msg/s (open loop), round robin over the {FRIENDS} "
          f"friends' existing threads;")
    print(f"                  first-message case: {NEW_FRIENDS} new friends at {a.rate:g}/s; "
          f"{PROBES} new friends probed right after a burst")
    print("  bridge          Procfile web: gunicorn, WEB_CONCURRENCY=2 workers x 4 threads, bound to 127.0.0.1 "
          "(Procfile: 0.0.0.0)")
    print("                  + 2 x Procfile worker: rq worker --with-scheduler, BridgeWorker, json serializer")
    print("  baseline        bench/bare_flask_app.py (verify X-Line-Signature, answer 200) under the same gunicorn command")
    print(f"  Redis           {redis_desc}, BRIDGE_NAMESPACE={bench.ns}")
    print("  emulators       LINE and Slack API emulators, each its own process (werkzeug, threaded), loopback")
    print(f"  machine         {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python "
          f"{platform.python_version()}")
    print("  versions        " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("  commands")
    for c in bench.commands:
        print(f"    {c}")
    print()
    print(f"1. Webhook ack — POST /line/webhook, {a.requests} requests per column at concurrency {a.concurrency}")
    print(f"  {'':<20}{'bridge,':>14}{'bridge,':>14}{'bare':>10}{'bridge/bare':>14}{'bridge/bare':>14}")
    print(f"  {'':<20}{'workers paused':>14}{'workers live':>14}{'Flask':>10}{'(paused)':>14}{'(live)':>14}")
    rows = [("p50 (ms)", lambda r: pct(r.latencies_ms, 50)), ("p90 (ms)", lambda r: pct(r.latencies_ms, 90)),
            ("p99 (ms)", lambda r: pct(r.latencies_ms, 99)), ("max (ms)", lambda r: max(r.latencies_ms)),
            ("throughput (req/s)", lambda r: r.throughput)]
    for name, f in rows:
        print(f"  {name:<20}{fmt(f(paused)):>14}{fmt(f(live)):>14}{fmt(f(bare)):>10}"
              f"{ratio(f(paused), f(bare)):>14}{ratio(f(live), f(bare)):>14}")
    print(f"  {'HTTP 200':<20}{paused.ok:>14}{live.ok:>14}{bare.ok:>10}")
    for label, r in (("bridge paused", paused), ("bridge live", live), ("bare", bare)):
        other = {k: v for k, v in r.statuses.items() if k != 200}
        if other:
            print(f"  {label} non-200 answers: {other}")
    print("  'workers paused': the rq workers were SIGSTOPped during the run (web tier alone, like the bare app);")
    print("  'workers live': they relay the burst meanwhile, on the same 2 CPUs, as in production.")
    print()
    print("2. Relay throughput (2 rq workers)")
    print(f"  queued backlog  {a.requests} events queued while paused: all in Slack {fmt(results['backlog_relayed_s'])} s "
          f"after resuming ({ratio(a.requests, results['backlog_relayed_s'], 1)} msg/s); "
          f"rq queue empty after {fmt(results['backlog_idle_s'])} s")
    print(f"  live burst      all {a.requests} in Slack {fmt(results['live_relayed_s'])} s after the first webhook "
          f"({ratio(a.requests, results['live_relayed_s'], 1)} msg/s); rq queue empty after {fmt(results['live_idle_s'])} s")
    print("  (at most one drain job waits in the rq queue per conversation stream, so the queue empties")
    print("   right after the burst is relayed and newer work does not wait behind empty jobs)")
    print()
    print("3. End to end — sent → recorded by the other side's emulator (RecordedCall.time / Delivery.time; same clock)")
    print("   LINE→Slack from the webhook POST; Slack→LINE from the Events API POST (message stored in the Slack emulator first)")
    print(f"  {'path':<46}{'n':>5}{'rate/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'lost':>6}")
    for key in ("l2s", "new", "s2l", "probe"):
        lat: Latencies = results[key]
        v = lat.values_ms
        print(f"  {lat.label:<46}{len(v):>5}{fmt(lat.rate):>8}{fmt(pct(v, 50)):>9}{fmt(pct(v, 90)):>9}"
              f"{fmt(pct(v, 99)):>9}{fmt(max(v) if v else float('nan')):>9}{lat.lost:>6}")
    if results["s2l"].note:
        print(f"  Slack→LINE by LINE API: {results['s2l'].note}")
    print(f"  'new friend right after a burst': {PROBES} friends not in the burst each write once, 0.1 s apart, as soon as")
    print("  all live-burst messages are in Slack (the rq queue still holds the burst's drain jobs).")
    print()
    print("Summary")
    print(f"  {'measure':<50}{'p50':>10}{'p99':>10}{'other':>26}")
    for label, r in (("webhook ack, bridge, workers paused (ms)", paused), ("webhook ack, bridge, workers live (ms)", live),
                     ("webhook ack, bare Flask (ms)", bare)):
        print(f"  {label:<50}{fmt(pct(r.latencies_ms, 50)):>10}{fmt(pct(r.latencies_ms, 99)):>10}"
              f"{fmt(r.throughput) + ' req/s':>26}")
    for label, r in (("ratio bridge/bare, workers paused", paused), ("ratio bridge/bare, workers live", live)):
        print(f"  {label:<50}{ratio(pct(r.latencies_ms, 50), pct(bare.latencies_ms, 50)):>10}"
              f"{ratio(pct(r.latencies_ms, 99), pct(bare.latencies_ms, 99)):>10}"
              f"{ratio(r.throughput, bare.throughput) + ' (throughput)':>26}")
    for key in ("l2s", "new", "s2l", "probe"):
        lat = results[key]
        print(f"  {lat.label + ' (ms)':<50}{fmt(pct(lat.values_ms, 50)):>10}{fmt(pct(lat.values_ms, 99)):>10}"
              f"{f'{len(lat.values_ms)}/{lat.expected} delivered':>26}")
    print(f"  {f'relay of {a.requests} queued events (s)':<50}{'':>10}{'':>10}"
          f"{fmt(results['backlog_relayed_s']) + ' (' + ratio(a.requests, results['backlog_relayed_s'], 0) + ' msg/s)':>26}")
    print(f"  {'rq queue busy after a live burst (s)':<50}{'':>10}{'':>10}"
          f"{fmt(results['live_idle_s']) + ' (relayed at ' + fmt(results['live_relayed_s']) + ')':>26}")
    print()
    print("Integrity: " + ", ".join(f"{k} {v}" for k, v in results["integrity"].items()))
    if bench.notes:
        print()
        print("Problems")
        for n in bench.notes:
            print(f"  - {n}")
    if problems:
        print()
        print(f"Bridge log lines with warnings/errors: {len(problems)} (first 10)")
        for line in problems[:10]:
            print(f"  {line}")
    print()
    print(f"total run time {elapsed:.1f}s")

if __name__ == "__main__":
    raise SystemExit(main())
