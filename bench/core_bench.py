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
   live (relaying the burst on the same CPUs, as in production). The web tier alone is measured
   side by side with the bare Flask app: both servers are up, and ``--rounds`` slices of the N
   webhooks alternate between them (bridge, bare, bare, bridge, …), so a neighbour's load on a
   shared machine hits both alike. Latency p50/p90/p99, throughput, ratios bridge/bare, and one
   ``web tier:`` line (the throughput and p99 ratios against their targets, >= 0.9 and <= 1.3).
   The relay of both bursts is timed too (all posted to Slack; rq queue empty), and 5 friends
   who were not in the burst write right after it was relayed.
2. LINE→Slack: on an idle bridge, M messages at a steady rate from the same 50 friends (their
   threads exist); latency = webhook POST sent → ``chat.postMessage`` carrying the text, as
   recorded (``RecordedCall.time``) by the Slack emulator. Plus the first message of 20 new
   friends (creates the conversation and its thread parent first). Their reply tokens are real
   (issued by the LINE emulator), so staff replies can use the reply API as in production.
3. Slack→LINE: M staff replies in those threads at the same rate (SlackEventSender driving the
   out-of-process Slack emulator); latency = Events API POST sent → delivery recorded by the LINE
   emulator (``Delivery.time``, reply or push).
4. Integrity: no duplicate posts/deliveries, per-conversation order kept.
5. Worst-case conversion (in process, ``bench/conversion_bench.py``): the slowest markup conversion of
   40,000 characters of a pathological pattern ("(*x", "<", unbalanced backticks …); ``--conversion-only``
   prints just that line.

Prints the parameters, one table per phase and a summary. Exit status 0 when every message
arrived and nothing looked wrong. All processes run in their own process groups and are stopped
(and the Redis keys deleted) in ``finally``, also on Ctrl-C / SIGTERM.

    .venv/bin/python bench/core_bench.py [--requests 1000] [--concurrency 8] [--rounds 10] [--e2e 200] [--rate 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bridge.keys import Keys  # noqa: E402
from bridge.model import conv_key  # noqa: E402
from bridge.store import Store  # noqa: E402
from emulators.line_webhooks import WebhookFactory, sign  # noqa: E402

from bench.harness import (BARE_APP, BRIDGE_APP, CHANNEL, FRIENDS, LINE_HEADERS, LINE_SECRET, LINE_TOKEN,  # noqa: E402,F401
                           NEW_FRIENDS, PROBES, SLACK_SECRET, SLACK_TOKEN, STAFF, TOKEN_RE, WARMUP, AckResult,
                           Latencies, Procs, TimedSender, cleanup_redis, closed_loop, fmt, free_port, friend_id,
                           paced, pct, rq_idle, wait_for)
from bench.conversion_bench import summary_line as conversion_summary  # noqa: E402
from bench.core_report import integrity, log_problems, report  # noqa: E402


def merge(results: list[AckResult]) -> AckResult:
    """Slices of one closed-loop run as one: latencies pooled, walls added (throughput = requests / busy time)."""
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    return AckResult([x for r in results for x in r.latencies_ms], statuses, sum(r.wall_s for r in results),
                     results[0].started_at)


def command_counts(r: redis.Redis) -> dict[str, int]:
    """Redis' per-command call counters (INFO commandstats), e.g. {"evalsha": 1000, ...}."""
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in r.info("commandstats").items()}


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in process group ``pgid`` (Linux /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime(11) stime(12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def redis_cpu(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def web_tier_line(bridge: AckResult, bare: AckResult, rounds: int) -> str:
    """The web tier's verdict in one line: the bridge's webhook ack (rq workers paused) against the
    bare Flask app, measured side by side. Targets: throughput >= 0.9x, p99 <= 1.3x of the bare app's."""
    tp = bridge.throughput / bare.throughput if bare.throughput else float("nan")
    p99 = pct(bridge.latencies_ms, 99) / pct(bare.latencies_ms, 99)
    p50 = pct(bridge.latencies_ms, 50) / pct(bare.latencies_ms, 50)
    verdict = "ok" if tp >= 0.9 and p99 <= 1.3 else "BELOW TARGET"
    return (f"web tier: throughput {bridge.throughput:.0f} vs {bare.throughput:.0f} req/s = {tp:.2f}x (>= 0.90), "
            f"p99 {pct(bridge.latencies_ms, 99):.1f} vs {pct(bare.latencies_ms, 99):.1f} ms = {p99:.2f}x (<= 1.30), "
            f"p50 {p50:.2f}x; bridge/bare, rq workers paused, {rounds} interleaved rounds: {verdict}")


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
        bare = self.start_bare(procs)
        self.parents_expected += FRIENDS

        # Run A: rq workers (and their scheduler) SIGSTOPped: the web tier alone, side by side with the bare app.
        procs.pause("bridge-worker-")
        try:
            self.warmup(self.bridge_url)  # (after the pause: its empty bodies queue nothing anyway)
            self.warmup(self.bare_url)
            out["ack_paused"], out["bare"] = self.side_by_side(self.ack_bodies(0), procs)
        finally:
            resumed = time.time()
            procs.resume("bridge-worker-")
            procs.stop(bare)
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

    def start_bare(self, procs: Procs):
        """``bench/bare_flask_app.py`` under the Procfile's gunicorn command (only the app spec differs)."""
        cmd = self.web_cmd.replace(BRIDGE_APP, BARE_APP)
        if cmd == self.web_cmd:
            raise RuntimeError(f"could not find {BRIDGE_APP} in the Procfile web command")
        self.commands.append(f"PORT={self.bare_port} WEB_CONCURRENCY=2 {cmd}")
        bare = procs.start("bare-web", cmd, {"PORT": str(self.bare_port)}, stop_signal=signal.SIGINT)
        probe = self.factory.body([])
        ok = wait_for(lambda: requests.post(self.bare_url + "/line/webhook", data=probe, timeout=1, headers={
            **LINE_HEADERS, "X-Line-Signature": sign(LINE_SECRET, probe)}).status_code == 200, 60, procs)
        if not ok:
            procs.stop(bare)
            raise RuntimeError(f"bare Flask app did not start; see {self.logdir}")
        return bare

    def side_by_side(self, bodies: list[bytes], procs: Procs) -> tuple[AckResult, AckResult]:
        """The same bodies to the bridge and to the bare app, in ``--rounds`` alternating slices
        (ABBA order), so both see the same machine: on a shared 2-core box a neighbour's test run
        would otherwise land on one side only. Each side's slices are merged into one result."""
        rounds = max(1, min(self.args.rounds, len(bodies)))
        edges = [len(bodies) * i // rounds for i in range(rounds + 1)]
        parts: dict[str, list[AckResult]] = {"bridge": [], "bare": []}
        r = redis.Redis.from_url(self.redis_url)
        calls: dict[str, int] = {}  # Redis commands the bridge's web tier sent (its rq workers are paused)
        groups = {p.name: p.popen.pid for p in procs.procs}  # each process leads its own group
        cpu = {"bridge": 0.0, "bare": 0.0, "redis": 0.0}
        try:
            for i in range(rounds):
                chunk = bodies[edges[i]:edges[i + 1]]
                order = ("bridge", "bare") if i % 2 == 0 else ("bare", "bridge")
                for side in order:
                    url, group = (self.bridge_url, groups["bridge-web"]) if side == "bridge" else (self.bare_url,
                                                                                                   groups["bare-web"])
                    before, cpu0, rcpu0 = command_counts(r), group_cpu(group), redis_cpu(r)
                    parts[side].append(closed_loop(url + "/line/webhook", chunk, self.args.concurrency))
                    cpu[side] += group_cpu(group) - cpu0
                    if side == "bridge":
                        cpu["redis"] += redis_cpu(r) - rcpu0
                        for name, n in command_counts(r).items():
                            calls[name] = calls.get(name, 0) + n - before.get(name, 0)
        finally:
            r.close()
        calls.pop("info", None)  # our own counting
        self.redis_per_webhook = {k: v / len(bodies) for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v}
        self.cpu_per_webhook_ms = {k: v * 1000 / len(bodies) for k, v in cpu.items()}
        return merge(parts["bridge"]), merge(parts["bare"])

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
        # let the 🆓/🔢 marks etc. finish before the workers are stopped
        self.wait_idle(15, procs)
        return lat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="webhooks in the ack phase (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads in the ack phase (default 8)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternating bridge/bare slices of the web-tier-alone run (default 10)")
    parser.add_argument("--e2e", type=int, default=200, help="messages per end-to-end direction (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s in the end-to-end phases (default 20)")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="max seconds to wait for relays per phase")
    parser.add_argument("--budget", type=float, default=165.0, help="cap on the run's waits, seconds (default 165)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs (temp dir) afterwards")
    parser.add_argument("--conversion-only", action="store_true", help="only the worst-case conversion line")
    args = parser.parse_args(argv)
    if args.conversion_only:
        print(conversion_summary())
        return 0
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
              f"(rq workers paused, side by side with the bare app in {args.rounds} rounds; then live), "
              f"concurrency {args.concurrency}", flush=True)
        results.update(bench.phase_ack_bridge(procs))
        print(f"[{time.time() - started:5.1f}s] burst relayed", flush=True)
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
    print(web_tier_line(results["ack_paused"], results["bare"], args.rounds))
    c = bench.cpu_per_webhook_ms
    print(f"web tier CPU per webhook: bridge web {c['bridge']:.3f} ms + its Redis {c['redis']:.3f} ms, bare app "
          f"{c['bare']:.3f} ms (gunicorn process groups, /proc; Redis INFO cpu)")
    per = bench.redis_per_webhook
    print(f"web tier Redis: {sum(per.values()):.2f} commands per webhook ("
          + ", ".join(f"{k} {v:.2f}" for k, v in per.items()) + "; rq workers paused; the SETs, RPUSH and SADD run inside the accept script's EVALSHA)")
    print(conversion_summary())  # in process, after the stack is stopped: markup conversion stays linear
    if args.keep_logs:
        print(f"logs: {bench.logdir}")
    lost = sum(results[k].lost for k in ("l2s", "new", "s2l", "probe"))
    return 0 if lost == 0 and not bench.notes and not any(results["integrity"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
