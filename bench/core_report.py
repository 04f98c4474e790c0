"""The core benchmark's integrity check and printed report (see :mod:`bench.core_bench`)."""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bench.harness import FRIENDS, NEW_FRIENDS, PROBES, TOKEN_RE, WARMUP, AckResult, Latencies, fmt, pct

if TYPE_CHECKING:
    from bench.core_bench import Bench

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
