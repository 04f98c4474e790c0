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
    .venv/bin/python bench/core_bench.py --web-tier-only     # phase 1's side-by-side run alone (~1 minute)

This file is the CLI; the stack is bench/core_stack.py, phase 1 bench/web_tier.py, phases 2-3
bench/relay_phases.py, the report bench/core_report.py.
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

from bench.conversion_bench import summary_line as conversion_summary  # noqa: E402
from bench.core_report import integrity, log_problems, report  # noqa: E402
from bench.core_stack import CoreStack  # noqa: E402
from bench.harness import (CHANNEL, FRIENDS, LINE_SECRET, LINE_TOKEN, NEW_FRIENDS, SLACK_SECRET,  # noqa: E402
                           SLACK_TOKEN, Procs, cleanup_redis)
from bench.relay_phases import RelayPhases  # noqa: E402
from bench.web_tier import WebTierPhase, web_tier_line  # noqa: E402


class Bench(CoreStack, WebTierPhase, RelayPhases):
    """The bridge as deployed (:class:`~bench.core_stack.CoreStack`) and the phases run against it."""


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
    parser.add_argument("--web-tier-only", action="store_true",
                        help="only the web tier alone side by side with the bare app (the 'web tier:' line), ~1 minute")
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
        if args.web_tier_only:
            results["ack_paused"], results["bare"] = bench.phase_web_tier(procs)
            failed = False
            raise StopIteration
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
    except StopIteration:
        pass
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
    if not args.web_tier_only:
        report(bench, results, redis_desc, time.time() - started, problems)
    print(web_tier_line(results["ack_paused"], results["bare"], args.rounds))
    c = bench.cpu_per_webhook_ms
    print(f"web tier CPU per webhook: bridge web {c['bridge']:.3f} ms + its Redis {c['redis']:.3f} ms, bare app "
          f"{c['bare']:.3f} ms (gunicorn process groups, /proc; Redis INFO cpu)")
    per = bench.redis_per_webhook
    print(f"web tier Redis: {sum(per.values()):.2f} commands per webhook ("
          + ", ".join(f"{k} {v:.2f}" for k, v in per.items()) + "; rq workers paused; the SETs, RPUSH and SADD run inside the accept script's EVALSHA)")
    if args.web_tier_only:
        return 0
    print(conversion_summary())  # in process, after the stack is stopped: markup conversion stays linear
    if args.keep_logs:
        print(f"logs: {bench.logdir}")
    lost = sum(results[k].lost for k in ("l2s", "new", "s2l", "probe"))
    return 0 if lost == 0 and not bench.notes and not any(results["integrity"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
