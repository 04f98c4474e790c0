"""Rate-limit benchmark: the bridge against a Slack that allows 1 chat.postMessage/s per channel.

Issue #10. The Slack emulator's limiter is on (chat.postMessage 1/s per channel with a burst of
5, HTTP 429 + Retry-After beyond; chat.update and reactions in their own buckets, the emulator's
defaults). Everything runs as in core_bench: private redis-server (or REDIS_URL with a fresh
namespace), both emulators in their own processes, the Procfile's web (gunicorn) and two
``rq worker --with-scheduler`` processes. The bridge runs with its default limits
(bridge.slack.ratelimit: posts 1/s per channel, burst 4) unless SLACK_RATE_* is set.

Setup: 100 friends write once with both limiters off (their threads exist afterwards); then the
workers are restarted with the bridge's limiter on and the emulator's limiter is switched on.

A. 600 messages from those 100 friends, sent evenly over 60 s (10/s, open loop). ``--pattern
   runs`` (default): each friend writes its 6 messages in a row (one friend after another);
   ``--pattern spread``: round robin, each friend writes every 10 s (see docs/rate-limits.md for
   why no pacing can show that in 110 s). Reported: lost, duplicates, per-friend order, when the
   last message was visible (successful chat.postMessage containing it, emulator clock) counted
   from the first send, calls, 429s, and the calls used against those the limit allowed in the
   window (emulator ``allowed_capacity``: floor(burst + rate x (last call - first call))).
B. 100 new friends write once each within 10 s: when the last one is visible, and the calls. A new
   conversation costs one post (its first message is the thread parent); before that change it cost
   two (a bare parent, then the message in the thread): 196 s until all were visible.
C. A reply storm after a segment broadcast to --storm-audience friends (the broadcast itself is a
   LINE call and costs Slack nothing; it is not replayed): --storm-replies of them (new chats)
   reply within --storm-seconds, half of them twice (the second 20-60 s after the first).
   Reported: when the last reply is visible in Slack, calls used against those the limit allowed,
   and how long after its webhook was accepted each chat was listed in /pending (the backlog
   index /pending reads, polled every 50 ms): /pending must not wait for Slack.

D. Ten staff replies typed in two seconds in one thread (the bridge's limiter and the emulator's
   on): when LINE accepted the last one (counted from the first reply's Slack event), when
   Slack showed the last 🆓/🔢 mark, and how often LINE's quota endpoints were read.

    .venv/bin/python bench/ratelimit_bench.py [--pattern runs|spread] [--friends 100] [--per-friend 6]
        [--storm-seconds 300] [--skip-c]
    .venv/bin/python bench/ratelimit_bench.py --staff-only      # D alone (one thread), ~30 s

This file is the CLI; the stack and its observations are in bench/ratelimit_stack.py, the scenarios in
bench/ratelimit_scenarios.py, the report in bench/ratelimit_report.py.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.harness import (CHANNEL, LINE_SECRET, LINE_TOKEN, SLACK_SECRET, SLACK_TOKEN, Procs,  # noqa: E402
                           cleanup_redis, wait_for)
from bench.ratelimit_report import report  # noqa: E402
from bench.ratelimit_scenarios import scenario_a, scenario_b, scenario_c, scenario_d  # noqa: E402
from bench.ratelimit_stack import EMU_POST_LIMIT, RateBench, setup_threads  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pattern", choices=("runs", "spread"), default="runs")
    parser.add_argument("--friends", type=int, default=100)
    parser.add_argument("--per-friend", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=60.0, help="scenario A is sent evenly over this long")
    parser.add_argument("--new-friends", type=int, default=100)
    parser.add_argument("--new-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=240.0, help="max wait for scenario A to be visible")
    parser.add_argument("--skip-b", action="store_true")
    parser.add_argument("--staff-only", action="store_true", help="only D (ten staff replies in two seconds); one friend")
    parser.add_argument("--skip-c", action="store_true")
    parser.add_argument("--storm-audience", type=int, default=5000, help="friends the broadcast went to (reported)")
    parser.add_argument("--storm-replies", type=int, default=500, help="of them, how many reply (new chats)")
    parser.add_argument("--storm-seconds", type=float, default=300.0, help="the replies arrive within this long")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--dump-calls", help="write scenario A's Slack calls (JSON) to this file")
    args = parser.parse_args(argv)
    if args.staff_only:
        args.friends, args.new_friends = 1, 0

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    b = RateBench(args)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    private = None
    if env.get("REDIS_URL"):
        redis_desc = f"REDIS_URL, namespace {b.ns}"
    else:
        from devtools.devredis import PrivateRedis

        private = PrivateRedis()
        env["REDIS_URL"] = private.url
        redis_desc = f"private redis-server, namespace {b.ns}"
    b.redis_url = env["REDIS_URL"]
    env.update({"LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN, "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_TRIAGE_CHANNEL": CHANNEL, "PUBLIC_BASE_URL": "http://127.0.0.1",
                "BRIDGE_NAMESPACE": b.ns, "WEB_CONCURRENCY": "2", "PYTHONUNBUFFERED": "1",
                "LINE_API_BASE_URL": b.line_url, "SLACK_API_BASE_URL": b.slack_url + "/api/"})
    for k in ("PORT", "BRIDGE_CONFIG", "LINE_REPLY_TOKEN_TTL", "BRIDGE_LANGUAGE", "LOG_LEVEL", "SLACK_RATE_LIMITS"):
        env.pop(k, None)
    procs = Procs(b.logdir, env)
    started = time.time()
    failed = True
    res: dict[str, Any] = {}
    try:
        b.start(procs, env)
        b.start_workers(procs, {"SLACK_RATE_LIMITS": "off"}, "setup")
        print(f"[{time.time() - started:5.1f}s] bridge up; setup: {len(b.friends)} threads", flush=True)
        setup_s = setup_threads(b, procs)
        b.start_workers(procs, {}, "paced")
        requests.post(b.slack_url + "/_emulator/rate_limits", timeout=10,
                      json={"post_per_channel": list(EMU_POST_LIMIT), "enabled": True}).raise_for_status()
        print(f"[{time.time() - started:5.1f}s] limiters on; A: {args.friends * args.per_friend} messages over "
              f"{args.seconds:g} s ({args.pattern})", flush=True)
        if args.staff_only:
            res["D"] = scenario_d(b, procs)
            failed = False
            raise StopIteration
        res["A"] = scenario_a(b, procs)
        print(f"[{time.time() - started:5.1f}s] A done ({res['A']['visible_s']:.1f} s); waiting for the relay queue",
              flush=True)
        wait_for(b.main_queue_idle, 120, procs, interval=0.5)
        if args.skip_b:
            res["B"] = {k: float("nan") for k in ("visible_s", "first_visible_s", "median_visible_s", "rate")}
        else:
            time.sleep(6)  # Slack's bucket refills (burst 5) between the scenarios
            print(f"[{time.time() - started:5.1f}s] B: {args.new_friends} new friends within {args.new_seconds:g} s",
                  flush=True)
            res["B"] = scenario_b(b, procs)
        if not args.skip_c:
            wait_for(b.main_queue_idle, 120, procs, interval=0.5)
            time.sleep(6)
            print(f"[{time.time() - started:5.1f}s] C: reply storm, {args.storm_replies} chats within "
                  f"{args.storm_seconds:g} s", flush=True)
            res["C"] = scenario_c(b, procs)
        wait_for(b.main_queue_idle, 120, procs, interval=0.5)
        print(f"[{time.time() - started:5.1f}s] D: ten staff replies in two seconds", flush=True)
        res["D"] = scenario_d(b, procs)
        failed = False
    except StopIteration:
        pass
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
    except Exception as exc:
        traceback.print_exc()
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        try:
            deleted, leftovers = cleanup_redis(env["REDIS_URL"], b.ns)
            print(f"Redis cleanup: deleted {deleted} keys" + (f"; LEFT OVER {leftovers[:5]}" if leftovers else ""))
        except redis.RedisError as exc:
            print(f"Redis cleanup failed: {exc}")
        if private is not None:
            private.stop()
        if not (args.keep_logs or failed):
            shutil.rmtree(b.logdir, ignore_errors=True)
    if failed:
        print(f"logs kept in {b.logdir}", file=sys.stderr)
        return 1
    if args.staff_only:
        report(b, res, setup_s, time.time() - started, redis_desc)
        D = res["D"]
        return 0 if D["complete"] and D["in_order"] else 1
    if args.skip_b:
        res["B"] = {**res["B"], "n": 0, "lost": 0, "duplicates": 0, "posts": 0, "posts_ok": 0, "posts_429": 0,
                    "capacity": 0, "all_calls": 0, "all_429": 0, "updates": 0, "updates_429": 0}
    report(b, res, setup_s, time.time() - started, redis_desc)
    if args.keep_logs:
        print(f"logs: {b.logdir}")
    A = res["A"]
    good = A["lost"] == 0 and A["order_ok"] == A["order_checked"] and res["B"]["lost"] == 0 \
        and res.get("C", {}).get("lost", 0) == 0
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
