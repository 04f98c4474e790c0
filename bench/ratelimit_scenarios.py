"""The rate-limit benchmark's scenarios A-D (see ``bench/ratelimit_bench.py``), each returning its figures."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import redis
import requests

from bench.harness import CHANNEL, SLACK_SECRET, STAFF, Procs, TimedSender, paced, wait_for
from bench.ratelimit_stack import TOKEN_RE, RateBench
from bridge.keys import Keys


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
    if lags:  # printed now too: the call log read next is large (a slow emulator must not cost these figures)
        print(f"   C: /pending listed {len(lags)}/{n} chats after max {lags[-1]:.2f} s, p99 {lags[int(len(lags) * 0.99)]:.2f} s, "
              f"median {lags[len(lags) // 2]:.2f} s; last reply visible after {times[-1] - first_send:.1f} s", flush=True)
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
