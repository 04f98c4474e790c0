"""Benchmark of the SLA sweep with 10,000 open conversations: time per run and Redis calls.

Fills a Redis database (``REDIS_URL`` when set, otherwise a private ``redis-server`` from
:mod:`devtools.devredis`) with open conversations and their /pending indexes, under a
business-hours schedule (Mon–Fri 10:00–18:00 JST + national holidays), then runs
``Automation.sweep`` (SLA breaches + opening/closing transitions + reminders) in three states:

* steady:   every conversation waits less than its target (nothing to alert) — the usual run;
* old:      every conversation breached days ago (alerted long since, beyond the look-back);
* catch-up: every conversation breached since the previous sweep (10,000 alerts queued at once),
            then the same sweep again (all duplicates: what a second worker racing it costs).

Redis calls are counted server-side (``INFO commandstats`` before/after, minus the INFO calls).
Cleans up its namespace afterwards.

    .venv/bin/python bench/sla_bench.py [--open 10000] [--runs 20]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402
from rq import Queue  # noqa: E402
from rq.serializers import JSONSerializer  # noqa: E402

from bridge.accounts import Account, AccountSet  # noqa: E402
from bridge.automation import Automation  # noqa: E402
from bridge.config import parse_config  # noqa: E402
from bridge.engine.inbox import Inbox  # noqa: E402
from bridge.keys import Keys  # noqa: E402
from bridge.model import Conversation  # noqa: E402
from bridge.services import Services  # noqa: E402
from bridge.store.stores import Stores  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from bridge.store import Store  # noqa: E402
from bridge.store.backlog import Backlog  # noqa: E402
from bridge.triage.marks import default_marks  # noqa: E402

CONFIG = """
[hours]
mon = ["10:00-18:00"]
tue = ["10:00-18:00"]
wed = ["10:00-18:00"]
thu = ["10:00-18:00"]
fri = ["10:00-18:00"]
"""
JST = ZoneInfo("Asia/Tokyo")


def calls(r: redis.Redis) -> int:
    return sum(int(v["calls"]) for v in r.info("commandstats").values())


def measure(r: redis.Redis, fn, runs: int) -> tuple[float, float, int, object]:
    times, counted, result = [], [], None
    for _ in range(runs):
        before = calls(r)
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        counted.append(calls(r) - before - 1)  # minus the INFO that read "before"
    return statistics.median(times) * 1000, max(times) * 1000, int(statistics.median(counted)), result


class _NoParents:
    """The bench's parent refresher: the sweep's parent updates are not what is measured."""

    def request(self, conv_id: str) -> None:
        pass


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from devtools.devredis import PrivateRedis

        server = PrivateRedis()
        url = server.url
    ns = "slabench" + uuid.uuid4().hex[:6]
    r = redis.Redis.from_url(url, decode_responses=True)
    keys = Keys(ns)
    marks = default_marks()
    store = Store(r, keys)
    backlog = Backlog(r, keys, marks, ["default"])
    settings = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="x", redis_url=url,
                        public_base_url="http://bench", namespace=ns)
    accounts = AccountSet([Account("default", "LINE", "CBENCH01", "s", "t")])
    services = Services(settings, accounts, store, None, None, marks, backlog, Stores(store, backlog))  # the sweep calls neither Slack nor LINE
    queue = Queue(ns, connection=redis.Redis.from_url(url), serializer=JSONSerializer)
    inbox = Inbox(r, keys, queue, queue)
    config = parse_config(CONFIG, "bench.toml", ["default"]).automation
    automation = Automation(services, config, inbox, _NoParents())
    schedule = automation.schedules.of("default")
    rng = random.Random(7)
    open_marks = [m.key for m in marks.open_marks()]
    now = datetime(2026, 12, 2, 15, 0, tzinfo=JST).timestamp()      # Wednesday 15:00, open

    def fill(waiting_from: float, waiting_to: float) -> None:
        pipe = r.pipeline(transaction=False)
        for i in range(args.open):
            ws = rng.uniform(waiting_from, waiting_to)
            conv = Conversation(conv_id=f"default-U{i:032x}", source_type="user", number=i + 1, account="default",
                                line_id=f"U{i:032x}", name=f"friend {i}", channel="CBENCH01", thread_ts=f"{i}.0",
                                mark=rng.choice(open_marks), created_at=ws, last_message_at=ws, waiting_since=ws)
            pipe.hset(keys.conv(conv_id=conv.conv_id), mapping=conv.to_hash())
            backlog.index(conv, pipe)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()

    try:
        print(f"SLA sweep, {args.open:,} open conversations, {len(open_marks)} open marks × 2 levels, "
              f"business hours Mon–Fri 10–18 JST, {args.runs} runs each\n")
        # steady: everyone waits 0–50 business minutes (complaint target 1 h, others 24 h)
        fill(schedule.subtract_business(now, 50 * 60), now)
        med, worst, n, stats = measure(r, lambda: automation.sweep(now), args.runs)
        print(f"steady (nothing due):        median {med:7.1f} ms  max {worst:7.1f} ms  Redis calls {n:6d}  {stats}")
        # old: everyone breached weeks ago (outside the look-back window)
        r.delete(*list(r.scan_iter(match=keys.prefix + "*")))
        fill(now - 40 * 86400, now - 30 * 86400)
        med, worst, n, stats = measure(r, lambda: automation.sweep(now), args.runs)
        print(f"old breaches (alerted):      median {med:7.1f} ms  max {worst:7.1f} ms  Redis calls {n:6d}  {stats}")
        # catch-up: everyone breached (both levels) within the last day of business hours
        r.delete(*list(r.scan_iter(match=keys.prefix + "*")))
        queue.empty()
        fill(schedule.subtract_business(now, 7 * 8 * 3600), schedule.subtract_business(now, 6 * 8 * 3600))
        med, worst, n, stats = measure(r, lambda: automation.sweep(now), 1)
        print(f"catch-up (all new breaches): once   {med:7.1f} ms                   Redis calls {n:6d}  {stats}")
        med, worst, n, stats = measure(r, lambda: automation.sweep(now), args.runs)
        print(f"  …the same sweep again:     median {med:7.1f} ms  max {worst:7.1f} ms  Redis calls {n:6d}  {stats}")
    finally:
        r.delete(*(list(r.scan_iter(match=keys.prefix + "*")) or ["-"]))
        queue.empty()
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
