"""The core benchmark's web-tier phase: webhook acks of the bridge side by side with the bare Flask app.

Part of ``bench/core_bench.py`` (see its docstring, phase 1). The bare app is ``bench/bare_flask_app.py``
under the same gunicorn command; ``--rounds`` slices of the same webhooks alternate between the two
(ABBA), and :func:`web_tier_line` is the verdict against the targets (throughput >= 0.9x, p99 <= 1.3x).
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import redis
import requests

from bench.harness import (BARE_APP, BRIDGE_APP, FRIENDS, LINE_HEADERS, LINE_SECRET, PROBES, WARMUP, AckResult,
                           Latencies, Procs, closed_loop, pct, wait_for)
from emulators.line_webhooks import sign


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


class WebTierPhase:
    """Mixin of :class:`bench.core_bench.Bench` (needs :class:`bench.core_stack.CoreStack`)."""

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

    def phase_ack_bridge(self, procs: Procs) -> dict[str, Any]:
        """Two ack runs of N webhooks each: workers paused (web tier alone), then workers live (production)."""
        out: dict[str, Any] = {}
        a = self.args
        self.parents_expected += FRIENDS
        # Run A: the web tier alone, side by side with the bare app.
        out["ack_paused"], out["bare"] = self.phase_web_tier(procs)
        resumed = time.time()
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

    def phase_web_tier(self, procs: Procs) -> tuple[AckResult, AckResult]:
        """N webhooks to the bridge with its rq workers (and their scheduler) SIGSTOPped, side by side
        with the bare app: (bridge, bare)."""
        bare = self.start_bare(procs)
        procs.pause("bridge-worker-")
        try:
            self.warmup(self.bridge_url)  # (after the pause: its empty bodies queue nothing anyway)
            self.warmup(self.bare_url)
            return self.side_by_side(self.ack_bodies(0), procs)
        finally:
            procs.resume("bridge-worker-")
            procs.stop(bare)
            procs.check()

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
