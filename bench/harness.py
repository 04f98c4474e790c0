"""Shared parts of the benchmarks: processes, pacing, percentiles, emulator bookkeeping.

Used by :mod:`bench.core_bench` (and through it :mod:`bench.ratelimit_bench`).
"""
from __future__ import annotations

import hashlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from emulators.line_webhooks import sign  # noqa: E402
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
