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
"""
from __future__ import annotations

import argparse
import os
import re
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

from bench.core_bench import (CHANNEL, LINE_SECRET, LINE_TOKEN, SLACK_SECRET, SLACK_TOKEN, STAFF, Bench, Procs,  # noqa: E402
                              cleanup_redis, free_port, friend_id, paced, wait_for)
from bench.harness import TimedSender  # noqa: E402
from bridge.keys import Keys  # noqa: E402
from emulators.line_webhooks import WebhookFactory, send_webhook  # noqa: E402

TOKEN_RE = re.compile(r"\[(?:setup|ra|rb|rc)-\d+-[0-9a-f]+\]")
EMU_POST_LIMIT = (1.0, 5.0)
# Phase B before a new conversation cost one post (bare parent + thread message), same machine and
# command: kept to print beside today's figures.
B_BEFORE = {"visible_s": 196.0, "posts_per_chat": 2}


class RateBench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.ns = "lsbrl" + uuid.uuid4().hex[:8]
        self.logdir = Path(tempfile.mkdtemp(prefix="lsb-ratebench-"))
        self.friends = [friend_id(i) for i in range(args.friends)]
        self.new_friends = [friend_id(i, "new") for i in range(args.new_friends)]
        self.storm_friends = [friend_id(i, "storm") for i in range(args.storm_replies)]
        self.factory = WebhookFactory(emulator=None)
        self.line_port, self.slack_port, self.bridge_port = (free_port() for _ in range(3))
        self.line_url = f"http://127.0.0.1:{self.line_port}"
        self.slack_url = f"http://127.0.0.1:{self.slack_port}"
        self.bridge_url = f"http://127.0.0.1:{self.bridge_port}"
        self.commands: list[str] = []
        self.worker_cmd = ""

    # -- processes ------------------------------------------------------------------------
    def start(self, procs: Procs, env: dict[str, str]) -> None:
        py = sys.executable
        users = " ".join(f"--user {u}:Friend{i:03d}" for i, u in enumerate(self.friends)) + " " + \
            " ".join(f"--user {u}:New{i:03d}" for i, u in enumerate(self.new_friends)) + " " + \
            " ".join(f"--user {u}:Storm{i:03d}" for i, u in enumerate(self.storm_friends))
        line_cmd = (f"{py} -m emulators.line_api --host 127.0.0.1 --port {self.line_port} --token {LINE_TOKEN} "
                    f"--secret {LINE_SECRET} {users}")
        slack_cmd = (f"{py} -m emulators.slack_api --host 127.0.0.1 --port {self.slack_port} --bot-token {SLACK_TOKEN} "
                     f"--signing-secret {SLACK_SECRET} --channel {CHANNEL}:triage --quiet")
        procs.start("line-emulator", line_cmd)
        procs.start("slack-emulator", slack_cmd)
        self.commands += [line_cmd.replace(users, f"--user ID:Name x{len(self.friends) + len(self.new_friends) + len(self.storm_friends)}"),
                          slack_cmd]
        if not wait_for(lambda: requests.get(self.line_url + "/_emulator/deliveries", timeout=1).ok, 20, procs):
            raise RuntimeError("LINE emulator did not start")
        # Webhooks carry the bot's user id as `destination`, as LINE's do (the bridge checks it).
        bot = requests.get(self.line_url + "/v2/bot/info", headers={"Authorization": f"Bearer {LINE_TOKEN}"}, timeout=5)
        self.factory.destination = bot.json()["userId"]
        if not wait_for(lambda: requests.get(self.slack_url + "/_emulator/rate_limits", timeout=1).ok, 20, procs):
            raise RuntimeError("Slack emulator did not start")
        requests.post(self.slack_url + "/_emulator/users", timeout=5, json={
            "user_id": STAFF, "name": "bench-staff", "real_name": "Bench Staff", "display_name": "staff"}).raise_for_status()
        web, self.worker_cmd = Bench.procfile()
        web = web.replace("0.0.0.0", "127.0.0.1")
        procs.start("bridge-web", web, {"PORT": str(self.bridge_port)}, stop_signal=signal.SIGINT)
        self.commands += [f"PORT={self.bridge_port} WEB_CONCURRENCY={env['WEB_CONCURRENCY']} {web}",
                          f"2 x {self.worker_cmd}"]
        if not wait_for(lambda: requests.get(self.bridge_url + "/healthz", timeout=1).ok, 60, procs):
            raise RuntimeError(f"the bridge did not become healthy; see {self.logdir}")

    def start_workers(self, procs: Procs, extra_env: dict[str, str], tag: str) -> None:
        for p in [p for p in procs.procs if p.name.startswith("bridge-worker-")]:
            procs.stop(p)
        r = redis.Redis.from_url(procs.env["REDIS_URL"])
        wait_for(lambda: r.scard(f"rq:workers:{self.ns}") == 0, 20, procs)
        for i in range(2):
            procs.start(f"bridge-worker-{tag}-{i}", self.worker_cmd, extra_env)
        if not wait_for(lambda: r.scard(f"rq:workers:{self.ns}") >= 2, 60, procs):
            raise RuntimeError(f"the rq workers did not register; see {self.logdir}")
        r.close()

    # -- load and observation ---------------------------------------------------------------
    def tok(self, kind: str, i: int) -> str:
        return f"[{kind}-{i:05d}-{self.run_id}]"

    def send(self, friend: str, text: str) -> float:
        body = self.factory.body([self.factory.text(friend, text)])
        sent = time.time()
        resp = send_webhook(self.bridge_url + "/line/webhook", LINE_SECRET, body)
        if resp.status_code != 200:
            raise RuntimeError(f"webhook answered {resp.status_code}: {resp.text[:200]}")
        return sent

    def post_calls(self) -> list[dict[str, Any]]:
        return requests.get(self.slack_url + "/_emulator/calls", params={"method": "chat.postMessage"}, timeout=60).json()

    def visible(self, calls: list[dict[str, Any]] | None = None) -> dict[str, list[float]]:
        """token -> times of the successful chat.postMessage calls whose text contains it."""
        out: dict[str, list[float]] = {}
        for c in calls if calls is not None else self.post_calls():
            if c["status"] == 200 and c["response"].get("ok"):
                for token in TOKEN_RE.findall(c["args"].get("text") or ""):
                    out.setdefault(token, []).append(c["time"])
        return out

    def wait_visible(self, tokens: list[str], timeout: float, procs: Procs) -> bool:
        wanted = set(tokens)
        return wait_for(lambda: wanted <= set(self.visible()), timeout, procs, interval=1.0)

    def main_queue_idle(self) -> bool:
        r = redis.Redis.from_url(self.redis_url)
        try:
            if r.llen(f"rq:queue:{self.ns}"):
                return False
            return not any(r.llen(k) for k in r.scan_iter(match=Keys(self.ns).prefix + "inbox:*", count=1000))
        finally:
            r.close()

    def thread_order_ok(self, friends_tokens: dict[str, list[str]]) -> tuple[int, int, list[str]]:
        """(friends whose messages appear in their thread in the order sent, friends checked, details of the others)."""
        ok = 0
        bad: list[str] = []
        for friend, tokens in friends_tokens.items():
            conv = redis.Redis.from_url(self.redis_url, decode_responses=True).hget(
                Keys(self.ns).conv(conv_id=f"default-{friend}"), "thread_ts")
            msgs = requests.get(self.slack_url + "/_emulator/messages",
                                params={"channel": CHANNEL, "thread_ts": conv}, timeout=30).json()
            seen = [t for m in msgs for t in TOKEN_RE.findall(m.get("text") or "") if t in set(tokens)]
            ok += seen == tokens
            if seen != tokens:
                bad.append(f"{friend[:9]}: sent {[t[4:9] for t in tokens]}, thread shows {[t[4:9] for t in seen]}")
        return ok, len(friends_tokens), bad

    def window_stats(self, since: float, until: float) -> dict[str, Any]:
        """Calls of the bridge to Slack in [since, until] (emulator clock) and the limit's capacity."""
        calls = requests.get(self.slack_url + "/_emulator/calls", timeout=60).json()
        inside = [c for c in calls if since <= c["time"] <= until]
        posts = [c for c in inside if c["method"] == "chat.postMessage"]
        updates = [c for c in inside if c["method"] == "chat.update"]
        ok_posts = [c for c in posts if c["status"] == 200]
        first, last = (min(c["time"] for c in posts), max(c["time"] for c in posts)) if posts else (since, until)
        cap = requests.get(self.slack_url + "/_emulator/rate_limits", timeout=30,
                           params={"channel": CHANNEL, "since": first, "until": last}).json()["capacity"]
        return {
            "posts": len(posts), "posts_ok": len(ok_posts), "posts_429": sum(c["status"] == 429 for c in posts),
            "updates": len(updates), "updates_429": sum(c["status"] == 429 for c in updates),
            "all_calls": len(inside), "all_429": sum(c["status"] == 429 for c in inside),
            "capacity": cap.get("chat.postMessage", 0), "first_post": first, "last_post": last,
        }


def scenario_a(b: RateBench, procs: Procs) -> dict[str, Any]:
    a = b.args
    n = a.friends * a.per_friend
    if a.pattern == "runs":  # friend k writes messages k*6 .. k*6+5 in a row
        who = [i // a.per_friend for i in range(n)]
    else:                    # round robin: every friend writes every friends/rate seconds
        who = [i % a.friends for i in range(n)]
    tokens = [b.tok("ra", i) for i in range(n)]
    texts = ["予約の変更をお願いします", "明日の15時は空いていますか", "注文番号は 12345 です", "ありがとうございます",
             "写真を送ります", "よろしくお願いします"]
    # A friend's next message leaves only after LINE took the previous one (as in the LINE app).
    previous: dict[int, int] = {}
    prev_of = []
    for i in range(n):
        prev_of.append(previous.get(who[i]))
        previous[who[i]] = i
    accepted = [threading.Event() for _ in range(n)]

    def send(i: int) -> float:
        if prev_of[i] is not None:
            accepted[prev_of[i]].wait(60)
        try:
            return b.send(b.friends[who[i]], f"{texts[i % len(texts)]} {tokens[i]}")
        finally:
            accepted[i].set()

    start = time.time()
    sent, achieved = paced(n, n / a.seconds, send)
    first_send, last_send = min(sent), max(sent)
    ok = b.wait_visible(tokens, a.timeout, procs)
    seen = b.visible()
    done = time.time()
    per_friend: dict[str, list[str]] = {}
    for i, token in enumerate(tokens):
        per_friend.setdefault(b.friends[who[i]], []).append(token)
    order_ok, checked, disorder = b.thread_order_ok(per_friend)
    last_visible = max((min(seen[t]) for t in tokens if t in seen), default=float("nan"))
    stats = b.window_stats(start - 1, done)
    if a.dump_calls:  # for analysis: every call the Slack emulator recorded, with the send times
        import json
        calls = requests.get(b.slack_url + "/_emulator/calls", timeout=60).json()
        Path(a.dump_calls).write_text(json.dumps({"sent": sent, "calls": calls}))
    return {"n": n, "rate": achieved, "complete": ok, "lost": sum(t not in seen for t in tokens),
            "duplicates": sum(len(seen[t]) - 1 for t in tokens if t in seen), "order_ok": order_ok,
            "order_checked": checked, "disorder": disorder, "visible_s": last_visible - first_send, "send_s": last_send - first_send,
            **stats}


def scenario_b(b: RateBench, procs: Procs) -> dict[str, Any]:
    a = b.args
    tokens = [b.tok("rb", i) for i in range(len(b.new_friends))]
    start = time.time()
    sent, achieved = paced(len(tokens), len(tokens) / a.new_seconds,
                           lambda i: b.send(b.new_friends[i], f"はじめまして、質問があります {tokens[i]}"))
    first_send = min(sent)
    ok = b.wait_visible(tokens, a.timeout + 150, procs)
    seen = b.visible()
    done = time.time()
    times = sorted(min(seen[t]) for t in tokens if t in seen)
    stats = b.window_stats(start - 1, done)
    return {"n": len(tokens), "rate": achieved, "complete": ok, "lost": sum(t not in seen for t in tokens),
            "duplicates": sum(len(seen[t]) - 1 for t in tokens if t in seen),
            "first_visible_s": times[0] - first_send if times else float("nan"),
            "median_visible_s": times[len(times) // 2] - first_send if times else float("nan"),
            "visible_s": times[-1] - first_send if times else float("nan"), **stats}


def scenario_c(b: RateBench, procs: Procs) -> dict[str, Any]:
    """The reply storm: every reply's webhook accept time against the moment /pending lists its chat."""
    import random

    a = b.args
    rng = random.Random(17)
    n = len(b.storm_friends)
    starts = sorted(rng.uniform(0, a.storm_seconds) for _ in range(n))
    plan = [(t, i, 0) for i, t in enumerate(starts)]
    plan += [(starts[i] + rng.uniform(20, 60), i, 1) for i in range(0, n, 2)]   # half of them write twice
    plan.sort()
    tokens = {(i, k): b.tok("rc", i * 2 + k) for _, i, k in plan}
    keys = Keys(b.ns)
    backlog_key = keys.backlog_all(account="default")
    accepted: dict[int, float] = {}
    listed: dict[int, float] = {}
    stop = threading.Event()
    lock = threading.Lock()

    def watch() -> None:  # what /pending reads: the backlog index (polled, pipelined)
        r = redis.Redis.from_url(b.redis_url, decode_responses=True)
        while not stop.is_set():
            with lock:
                todo = [i for i in accepted if i not in listed]
            if todo:
                pipe = r.pipeline(transaction=False)
                for i in todo:
                    pipe.zscore(backlog_key, f"default-{b.storm_friends[i]}")
                now = time.time()
                for i, score in zip(todo, pipe.execute()):
                    if score is not None:
                        listed[i] = now
            time.sleep(0.05)
        r.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.time()
    sends: list[float] = []
    texts = ["クーポンありがとうございます！使えますか？", "在庫ありますか", "予約したいです"]

    def send_at(j: int) -> None:
        at, i, k = plan[j]
        delay = start + at - time.time()
        if delay > 0:
            time.sleep(delay)
        sent = b.send(b.storm_friends[i], f"{texts[(i + k) % len(texts)]} {tokens[(i, k)]}")
        with lock:
            accepted.setdefault(i, time.time())
        sends.append(sent)

    workers = [threading.Thread(target=lambda js=js: [send_at(j) for j in js], daemon=True)
               for js in (list(range(w, len(plan), 8)) for w in range(8))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    first_send = min(sends)
    ok = b.wait_visible(list(tokens.values()), a.storm_seconds + a.timeout + 2 * n, procs)
    wait_for(lambda: len(listed) == len(accepted), 30, procs, interval=0.2)
    stop.set()
    watcher.join(5)
    seen = b.visible()
    done = time.time()
    times = sorted(min(seen[t]) for t in tokens.values() if t in seen)
    lags = sorted(listed[i] - accepted[i] for i in listed)
    stats = b.window_stats(start - 1, done)
    return {"n": len(plan), "chats": n, "complete": ok, "lost": sum(t not in seen for t in tokens.values()),
            "duplicates": sum(len(seen[t]) - 1 for t in tokens.values() if t in seen),
            "send_s": max(sends) - first_send, "visible_s": times[-1] - first_send if times else float("nan"),
            "listed": len(listed), "lag_max": lags[-1] if lags else float("nan"),
            "lag_p50": lags[len(lags) // 2] if lags else float("nan"),
            "lag_p99": lags[int(len(lags) * 0.99)] if lags else float("nan"), **stats}


def scenario_d(b: RateBench, procs: Procs) -> dict[str, Any]:
    """Ten staff replies typed in two seconds in one friend's thread."""
    r = redis.Redis.from_url(b.redis_url, decode_responses=True)
    thread = r.hget(Keys(b.ns).conv(conv_id=f"default-{b.friends[0]}"), "thread_ts")
    r.close()
    sender = TimedSender(b.bridge_url + "/slack/events", None, signing_secret=SLACK_SECRET, emulator_url=b.slack_url)
    tokens = [b.tok("rc", i) for i in range(10)]
    texts = ["承知しました", "在庫を確認します", "少々お待ちください", "ございました", "明日お届けできます",
             "送料は無料です", "お支払いは店頭でも", "ほかにご質問は", "ありがとうございます", "またのご利用を"]
    quota_before = len(quota_requests(b))
    calls_before = len(requests.get(b.slack_url + "/_emulator/calls", params={"method": "reactions.add"}, timeout=30).json())

    def reply(i: int) -> tuple[float, str]:  # one person typing: one reply after the other
        message, resp = sender.user_message(CHANNEL, STAFF, f"{texts[i]} {tokens[i]}", thread_ts=thread)
        if resp.status_code != 200:
            raise RuntimeError(f"Slack event answered {resp.status_code}")
        return sender.last_send, message["ts"]
    sent, achieved = paced(len(tokens), 5.0, reply, workers=1)
    first = min(t for t, _ in sent)

    def line_times() -> dict[str, float]:
        out: dict[str, float] = {}
        for d in requests.get(b.line_url + "/_emulator/deliveries", timeout=30).json():
            for m in d["messages"]:
                for token in TOKEN_RE.findall(m.get("text") or ""):
                    out.setdefault(token, d["time"])
        return out
    ok = wait_for(lambda: set(tokens) <= set(line_times()), 120, procs, interval=0.2)
    got = line_times()
    order = [t for _, t in sorted((got[t], t) for t in tokens if t in got)]
    ours = {ts for _, ts in sent}

    def marks() -> dict[str, float]:
        calls = requests.get(b.slack_url + "/_emulator/calls", params={"method": "reactions.add"}, timeout=30).json()
        out: dict[str, float] = {}
        for c in calls[calls_before:]:
            if c["status"] == 200 and c["args"].get("timestamp") in ours and c["args"].get("name") in ("free", "1234", "outbox_tray"):
                out[c["args"]["timestamp"]] = max(out.get(c["args"]["timestamp"], 0.0), c["time"])
        return out
    marked = wait_for(lambda: ours <= set(marks()), 120, procs, interval=0.5)
    seen = marks()
    all_calls = requests.get(b.slack_url + "/_emulator/calls", params={"method": "reactions.add"}, timeout=30).json()[calls_before:]
    return {"n": len(tokens), "rate": achieved, "complete": ok, "in_order": order == tokens,
            "last_line_s": max(got.values()) - first if got else float("nan"),
            "spread_s": max(got.values()) - min(got.values()) if got else float("nan"),
            "last_mark_s": max(seen.values()) - first if marked and seen else float("nan"),
            "reactions": len(all_calls), "reactions_429": sum(c["status"] == 429 for c in all_calls),
            "quota_reads": len(quota_requests(b)) - quota_before}


def quota_requests(b: RateBench) -> list[dict[str, Any]]:
    return [x for x in requests.get(b.line_url + "/_emulator/requests", timeout=30).json()
            if x["operation"] in ("getMessageQuota", "getMessageQuotaConsumption")]


def report_d(C: dict[str, Any]) -> None:
    print(f"D. {C['n']} staff replies typed in one thread within 2 s (achieved {C['rate']:.1f}/s), both limiters on")
    print(f"   last accepted by LINE after        {C['last_line_s']:.2f} s from the first reply's event "
          f"(first to last delivery {C['spread_s']:.2f} s; in order: {C['in_order']}; all: {C['complete']})")
    print(f"   last 🆓/🔢 mark in Slack after      {C['last_mark_s']:.2f} s   (reactions.add calls {C['reactions']}, "
          f"{C['reactions_429']} x 429)")
    print(f"   LINE quota/consumption requests    {C['quota_reads']}")


def setup_threads(b: RateBench, procs: Procs) -> float:
    """Every friend writes once with both limiters off: their threads exist afterwards."""
    t0 = time.time()
    tokens = [b.tok("setup", i) for i in range(len(b.friends))]
    paced(len(tokens), 25.0, lambda i: b.send(b.friends[i], f"こんにちは {tokens[i]}"))
    if not b.wait_visible(tokens, 180, procs):
        raise RuntimeError("setup: not every friend's first message reached Slack")
    wait_for(b.main_queue_idle, 60, procs, interval=0.5)
    return time.time() - t0


def pct(x: float, y: float) -> str:
    return f"{100.0 * x / y:.1f} %" if y else "-"


def report(b: RateBench, res: dict[str, Any], setup_s: float, elapsed: float, redis_desc: str) -> None:
    a = b.args
    A, B = res.get("A") or {}, res.get("B") or {}
    print()
    print("=" * 96)
    print("LINE ↔ Slack bridge — rate-limit benchmark (issue #10)")
    print("=" * 96)
    print(f"  Slack emulator limiter  chat.postMessage {EMU_POST_LIMIT[0]:g}/s per channel, burst {EMU_POST_LIMIT[1]:g}, "
          "429 + Retry-After beyond; chat.update / reactions: own buckets (emulator defaults)")
    limits = {k: os.environ.get(k) for k in ("SLACK_RATE_POST", "SLACK_RATE_UPDATE", "SLACK_RATE_REACTIONS") if os.environ.get(k)}
    print(f"  bridge limiter          {limits or 'defaults (posts 1/s per channel, burst 4; chat.update and reactions 50/min, burst 5)'}")
    print(f"  bridge                  Procfile web (gunicorn) + 2 x Procfile worker; Redis: {redis_desc}")
    print(f"  setup                   {len(b.friends)} threads created with both limiters off in {setup_s:.1f} s")
    for c in b.commands:
        print(f"    {c}")
    print()
    if a.staff_only:
        report_d(res["D"])
        print(f"total run time {elapsed:.1f} s")
        return
    print(f"A. {A['n']} messages from {a.friends} friends whose threads exist, sent evenly over {a.seconds:g} s "
          f"(achieved {A['rate']:.1f} msg/s), pattern '{a.pattern}'")
    print(f"   lost                               {A['lost']}   (duplicates {A['duplicates']})")
    print(f"   per-friend order kept              {A['order_ok']}/{A['order_checked']} friends")
    for line in A["disorder"][:3]:
        print(f"     out of order: {line}")
    print(f"   all visible after                  {A['visible_s']:.1f} s from the first send   (target ≤ 110 s; floor ≈ 95 s)")
    print(f"   chat.postMessage calls             {A['posts']} ({A['posts_ok']} ok, {A['posts_429']} refused with 429 = "
          f"{pct(A['posts_429'], A['posts'])})")
    print(f"   calls the limit allowed            {A['capacity']} in [first post, last post] = {A['last_post'] - A['first_post']:.1f} s;"
          f" used {A['posts_ok']} = {pct(A['posts_ok'], A['capacity'])}   (target ≥ 90 %)")
    print(f"   messages per post                  {A['n'] / max(1, A['posts_ok']):.2f}")
    print(f"   all Slack calls in the window      {A['all_calls']}, 429s {A['all_429']} = {pct(A['all_429'], A['all_calls'])}"
          f"   (target ≤ 5 %); chat.update {A['updates']} ({A['updates_429']} x 429)")
    print()
    print(f"B. {B['n']} new friends writing once each within {a.new_seconds:g} s (achieved {B['rate']:.1f} msg/s)")
    print(f"   lost                               {B['lost']}   (duplicates {B['duplicates']})")
    print(f"   last one visible after             {B['visible_s']:.1f} s  (first {B['first_visible_s']:.1f} s, "
          f"median {B['median_visible_s']:.1f} s)")
    print(f"   chat.postMessage calls             {B['posts']} ({B['posts_ok']} ok: thread parents + messages; "
          f"{B['posts_429']} x 429 = {pct(B['posts_429'], B['posts'])})")
    print(f"   calls the limit allowed            {B['capacity']}; used {B['posts_ok']} = {pct(B['posts_ok'], B['capacity'])}")
    print(f"   all Slack calls in the window      {B['all_calls']}, 429s {B['all_429']} = {pct(B['all_429'], B['all_calls'])};"
          f" chat.update {B['updates']} ({B['updates_429']} x 429)")
    print(f"   before (two posts per new chat)    last visible after {B_BEFORE['visible_s']:.0f} s; now "
          f"{B['visible_s']:.1f} s, {B['posts_ok'] / max(1, B['n']):.2f} posts per new chat   (target ≤ 110 s, floor ≈ 100 s)")
    C = res.get("C")
    if C:
        print()
        print(f"C. reply storm after a broadcast to {a.storm_audience} friends: {C['chats']} reply within "
              f"{a.storm_seconds:g} s, half of them twice ({C['n']} messages, sent over {C['send_s']:.1f} s)")
        print(f"   lost                               {C['lost']}   (duplicates {C['duplicates']})")
        print(f"   last reply visible after           {C['visible_s']:.1f} s from the first send")
        print(f"   chat.postMessage calls             {C['posts']} ({C['posts_ok']} ok, {C['posts_429']} x 429 = "
              f"{pct(C['posts_429'], C['posts'])})")
        print(f"   calls the limit allowed            {C['capacity']} in [first post, last post] = "
              f"{C['last_post'] - C['first_post']:.1f} s; used {C['posts_ok']} = {pct(C['posts_ok'], C['capacity'])}")
        print(f"   /pending listed the chat after     max {C['lag_max']:.2f} s, p99 {C['lag_p99']:.2f} s, median "
              f"{C['lag_p50']:.2f} s from its webhook's 200 ({C['listed']}/{C['chats']} chats; target ≤ 1 s)")
        print(f"   all Slack calls in the window      {C['all_calls']}, 429s {C['all_429']} = {pct(C['all_429'], C['all_calls'])};"
              f" chat.update {C['updates']} ({C['updates_429']} x 429)")
    if res.get("D"):
        print()
        report_d(res["D"])
    print()
    print(f"total run time {elapsed:.1f} s")


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
