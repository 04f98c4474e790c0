"""One entry point for the benchmarks the issues ask for, printed together in one run.

    .venv/bin/python bench/all.py            # about 15 minutes on the 2-core machine
    .venv/bin/python bench/all.py --quick    # smaller sizes, a few minutes (a smoke run, not the numbers)

Runs, one after another (each alone on the machine, each in its own processes):
  core      webhook ack p50/p99/req/s side by side with a bare Flask app that only verifies the
            signature (the "web tier:" ratio line, printed first below), end-to-end latency
            LINE→Slack and Slack→LINE                                   (bench/core_bench.py)
  ratelimit 600 messages from 100 friends and 100 new friends against a Slack that allows
            1 post/s per channel, burst 5                               (bench/ratelimit_bench.py)
  pending   /pending at 100,000 friends / 10,000 open; Redis bytes per friend (bench/pending_bench.py)
  recovery  SIGKILL a worker mid-burst: seconds until every stream moves again (bench/recovery_bench.py)
Each one's full output is kept in .run/bench-<name>.log; the summary below is each one's result table.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = {
    "core": (["bench/core_bench.py"], ["bench/core_bench.py", "--requests", "200", "--e2e", "40"]),
    "ratelimit": (["bench/ratelimit_bench.py"], ["bench/ratelimit_bench.py", "--friends", "20", "--seconds", "15", "--new-friends", "10", "--new-seconds", "5"]),
    "pending": (["bench/pending_bench.py"], ["bench/pending_bench.py", "--friends", "10000", "--open", "1000", "--runs", "50"]),
    "recovery": (["bench/recovery_bench.py", "--aof"], ["bench/recovery_bench.py", "--aof", "--messages", "60"]),
}
TAIL = {"core": 40, "ratelimit": 30, "pending": 30, "recovery": 25}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--only", nargs="*", choices=sorted(BENCHES), help="run only these")
    args = ap.parse_args()
    (ROOT / ".run").mkdir(exist_ok=True)
    results: list[tuple[str, int, float, list[str]]] = []
    verdicts: list[str] = []
    for name, (full, quick) in BENCHES.items():
        if args.only and name not in args.only:
            continue
        cmd = [sys.executable, *(quick if args.quick else full)]
        log = ROOT / ".run" / f"bench-{name}.log"
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(cmd[1:])}  (log: {log.relative_to(ROOT)})", flush=True)
        started = time.time()
        with open(log, "w") as out:
            code = subprocess.call(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
        lines = log.read_text(errors="replace").splitlines()
        verdicts += [line for line in lines if line.startswith("web tier:")]
        results.append((name, code, time.time() - started, lines[-TAIL[name]:]))
    print("\n" + "=" * 100)
    for line in verdicts:  # the web tier's verdict first (bridge/bare webhook ack, side by side)
        print(line)
    for name, code, took, tail in results:
        print(f"\n## {name} ({'ok' if code == 0 else f'exit {code}'}, {took:.0f} s)\n")
        print("\n".join(tail))
    return 0 if all(code == 0 for _, code, _, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
