"""The core benchmark's end-to-end phases: LINE→Slack and Slack→LINE latency on an idle bridge.

Part of ``bench/core_bench.py`` (see its docstring, phases 2 and 3).
"""
from __future__ import annotations

import threading
import time

import redis
import requests

from bench.harness import (CHANNEL, FRIENDS, LINE_HEADERS, LINE_SECRET, SLACK_SECRET, STAFF, Latencies, Procs,
                           TimedSender, fmt, paced, pct, wait_for)
from bridge.keys import Keys
from bridge.model import conv_key
from bridge.store import Store
from emulators.line_webhooks import sign


class RelayPhases:
    """Mixin of :class:`bench.core_bench.Bench` (needs :class:`bench.core_stack.CoreStack`)."""

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
