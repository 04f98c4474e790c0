"""Crash-recovery benchmark: SIGKILL an rq worker (and its work horse) in the middle of a burst.

Setup, all on loopback: a private ``redis-server`` (``--aof`` for appendonly + fsync always),
the LINE and Slack emulators and the bridge's Flask app in this process (threads), and two
``rq worker`` processes started as the Procfile starts them. Slack answers every
``chat.postMessage`` after ``--slack-delay`` seconds, so the burst is in flight for a while.

1. ``--friends`` friends each write their first message (threads are created), then the burst:
   ``--messages`` messages spread round-robin over the friends, as signed webhooks.
2. Once ``--kill-at`` of the burst is in Slack, the worker holding the most stream locks is
   SIGKILLed together with its work horse, and a new worker is started (as a process manager
   restarting the Procfile line would). No new event arrives after that.
3. Measured: for every stream that still had pending items at the kill, the seconds until its
   next message reached Slack ("moves again"); the maximum of those; the total time of the
   burst; duplicates and lost messages (each text must be in its thread exactly once, in order).

    .venv/bin/python bench/recovery_bench.py [--friends 20] [--messages 200] [--slack-delay 0.1] [--kill-at 0.3]

With ``--aof --redis-restart-after S [--redis-down D]`` the first posts of the burst also meet
Slack faults (500 although posted, 429 ×2, 500), Redis is SIGKILLed S seconds after the worker
and restarted D seconds later on the same port and directory (the killed worker's replacement
starts then), and "moves again" is measured from Redis being back, for every stream with items.

Exit status 0 when nothing was lost or duplicated and the killed drain's stream moved again
within 30 s (the other streams' times also include waiting their turn behind the surviving worker).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.keys import Keys  # noqa: E402
from bridge.relay.batch import texts_of_post  # noqa: E402
from bridge.model import conv_key  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from bridge.store import Store  # noqa: E402
from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_api import LineEmulator  # noqa: E402
from emulators.line_webhooks import WebhookFactory, send_webhook  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402
from emulators.slack_api import SlackEmulator  # noqa: E402

TRIAGE = "CTRIAGE01"
SECRET, TOKEN = "bench-line-secret", "bench-line-token"


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--friends", type=int, default=20)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--slack-delay", type=float, default=0.1)
    ap.add_argument("--kill-at", type=float, default=0.3)
    ap.add_argument("--aof", action="store_true", help="Redis with appendonly yes + appendfsync always")
    ap.add_argument("--redis-restart-after", type=float, default=None,
                    help="also SIGKILL Redis this many seconds after the worker kill and restart it (needs --aof)")
    ap.add_argument("--redis-down", type=float, default=1.0, help="seconds Redis stays down (with --redis-restart-after)")
    args = ap.parse_args()
    if args.redis_restart_after is not None and not args.aof:
        ap.error("--redis-restart-after needs --aof (a restarted Redis without its data loses accepted events)")

    rds = PrivateRedis(persistent=args.aof)
    line = LineEmulator(channel_access_token=TOKEN, channel_secret=SECRET)
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-signing")
    line_srv, slack_srv = serve_in_thread(line.app), serve_in_thread(slack.app)
    line.url, slack.url = line_srv.url, slack_srv.url
    slack.add_channel(TRIAGE, "line-triage", members=["UBOT"])
    ns = "lsbrb" + uuid.uuid4().hex[:6]
    env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": "bench-signing", "SLACK_TRIAGE_CHANNEL": TRIAGE, "REDIS_URL": rds.url,
           "PUBLIC_BASE_URL": "http://127.0.0.1", "LINE_API_BASE_URL": line.url,
           "SLACK_API_BASE_URL": slack.url + "/api/", "BRIDGE_NAMESPACE": ns}
    settings = Settings.from_env(env)
    from handlers.app import create_app

    app_srv = serve_in_thread(create_app(settings))
    store = Store(redis.Redis.from_url(rds.url, decode_responses=True), Keys(ns))
    logdir = Path(tempfile.mkdtemp(prefix="lsb-recovery-bench-"))
    workers: dict[str, subprocess.Popen] = {}
    gen = [0]

    def start_worker(wait: bool = True) -> str:
        gen[0] += 1
        name = f"{ns}-w{gen[0]}"
        workers[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler", "--worker-class",
             "bridge.worker.BridgeWorker", "--serializer", "json", "--url", rds.url, "--name", name, ns, ns + "-low"],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT, start_new_session=True,
            stdout=open(logdir / f"{name}.log", "w"), stderr=subprocess.STDOUT)
        r = redis.Redis.from_url(rds.url)
        assert not wait or wait_for(lambda: f"rq:worker:{name}".encode() in r.smembers("rq:workers"), 60), "worker did not start"
        return name

    def kill(name: str) -> None:
        proc = workers.pop(name)
        for pid in [proc.pid, *descendants(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()

    hook = WebhookFactory(line)
    friends = [f"U{i:032x}" for i in range(1, args.friends + 1)]
    texts = {f: [] for f in friends}
    try:
        start_worker()
        start_worker()
        for f in friends:
            line.add_user(f, f"友だち {f[-3:]}")
            resp = send_webhook(app_srv.url + "/line/webhook", SECRET, hook.body([hook.text(f, f"はじめまして {f[-3:]}")]))
            assert resp.status_code == 200
        # A new conversation is one post: its parent shows the first message (bridge.relay.portal).
        assert wait_for(lambda: all((c := store.get_conversation(conv_key("default", f))) and c.thread_ts
                                    and slack.message(TRIAGE, c.thread_ts) for f in friends), 120), "threads not created"
        threads = {f: store.get_conversation(conv_key("default", f)).thread_ts for f in friends}
        if args.redis_restart_after is not None:  # items back off when the crashes come (as the run)
            slack.fail_next("chat.postMessage", 500, after_effect=True)
            slack.fail_next("chat.postMessage", 429, retry_after=2, times=2)
            slack.fail_next("chat.postMessage", 500)
        slack.fail_next("chat.postMessage", delay=args.slack_delay, times=10 ** 6)

        def relayed() -> dict[str, list[str]]:
            # friend messages that waited together share one post (bridge.relay.batch): one line each
            return {f: [t for m in slack.messages(TRIAGE, threads[f]) for t in texts_of_post(m["text"]) if t.startswith("burst ")]
                    for f in friends}

        t0 = time.time()
        for i in range(args.messages):
            f = friends[i % len(friends)]
            text = f"burst {f[-3:]} {i // len(friends):04d}"
            texts[f].append(text)
            assert send_webhook(app_srv.url + "/line/webhook", SECRET, hook.body([hook.text(f, text)])).status_code == 200
        accepted = time.time()
        assert wait_for(lambda: sum(map(len, relayed().values())) >= args.kill_at * args.messages, 300)
        before = relayed()
        pending = [f for f in friends if len(before[f]) < len(texts[f])]
        # The worker whose work horse holds a stream lock right now (lock value "<horse pid>-…").
        def lock_holder() -> str | None:
            for f in friends:
                token = store.r.get(store.keys.inbox_lock(stream=f"line-{conv_key('default', f)}"))
                pid = int(token.split("-")[0]) if token else 0
                owner = [name for name, proc in workers.items() if pid and pid in descendants(proc.pid)]
                if owner:
                    return owner[0]
            return None

        victim = None
        for _ in range(100):  # between two drains nobody holds a lock: look again
            victim = lock_holder()
            if victim:
                break
        victim = victim or next(iter(workers))
        victim_pids = {workers[victim].pid, *descendants(workers[victim].pid)}
        at_kill = {f: store.r.llen(store.keys.inbox(stream=f"line-{conv_key('default', f)}")) for f in pending}
        t_kill = time.time()
        kill(victim)
        if args.redis_restart_after is None:
            start_worker(wait=False)  # a process manager restarting the Procfile line
        held = []  # the streams whose drainer died: their lock names a pid that no longer exists
        for f in friends:
            token = store.r.get(store.keys.inbox_lock(stream=f"line-{conv_key('default', f)}"))
            if token and int(token.split("-")[0]) in victim_pids:
                held.append(f)
        moved: dict[str, float] = {}

        def backlog(f: str) -> int:
            return store.r.llen(store.keys.inbox(stream=f"line-{conv_key('default', f)}"))

        at_kill.update({f: backlog(f) for f in held})  # the killed drainer popped nothing since
        # A stream whose drainer died may have had all its messages in Slack already (its last post was
        # answered, the item not yet popped): it still has to move again, so it is watched as well.
        watch = list(dict.fromkeys(pending + held))
        t_back, t_ref = None, t_kill
        if args.redis_restart_after is not None:
            time.sleep(max(0.0, args.redis_restart_after - (time.time() - t_kill)))
            rds.crash()
            time.sleep(args.redis_down)
            rds.start()
            t_back = t_ref = time.time()
            start_worker(wait=False)
            # From here "moves again" is measured from Redis being back, for every stream with items.
            watch = [f for f in friends if backlog(f)]
            at_kill = {f: backlog(f) for f in watch}

        def check() -> bool:
            # "Moves again": an item of the stream was completed (popped) after the kill; only a
            # live drainer can do that (the killed one's in-flight post, answered later, does not count).
            for f in watch:
                if f not in moved and backlog(f) < at_kill[f]:
                    moved[f] = time.time() - t_ref
            now_rel = relayed()
            return all(len(now_rel[f]) >= len(texts[f]) for f in friends) and len(moved) == len(watch)

        done = wait_for(check, 180, interval=0.05)
        t_end = time.time()
        final = relayed()
        dups = sum(len(v) - len(set(v)) for v in final.values())
        lost = sum(len(set(texts[f]) - set(final[f])) for f in friends)
        out_of_order = sum(1 for f in friends if [t for t in final[f]] != sorted(set(final[f]), key=texts[f].index))
        print(f"recovery bench: {args.friends} friends, {args.messages} messages, Slack delay {args.slack_delay}s/post, "
              f"Redis AOF {'on' if args.aof else 'off'}, 2 workers")
        print(f"  killed {victim} (its drain held {len(held)} stream lock(s)) after {t_kill - t0:.1f}s, "
              f"{sum(map(len, before.values()))} of {args.messages} relayed; {len(pending)} stream(s) had pending items")
        for f in held if t_back is None else []:
            print(f"  the killed drain's stream moved again {moved.get(f, float('nan')):.1f}s after the kill "
                  f"(lock TTL 10 s, sweep every 3 s, the in-flight post's settle time)")
        if t_back is not None:
            print(f"  Redis SIGKILLed {args.redis_restart_after:.1f}s after the worker, restarted {args.redis_down:.1f}s later; "
                  f"{len(watch)} stream(s) had items then; last one moving again {max(moved.values(), default=float('nan')):.1f}s "
                  f"after Redis was back")
        if moved:
            values = sorted(moved.values())
            print(f"  every stream with pending items moving again after the {'kill' if t_back is None else 'restart'}: median {values[len(values) // 2]:.1f}s, "
                  f"max {values[-1]:.1f}s ({len(moved)}/{len(watch)} streams; the others wait their turn behind "
                  f"the surviving worker while the new one starts)")
        print(f"  burst accepted in {accepted - t0:.1f}s; all relayed {t_end - t0:.1f}s after the first webhook"
              f" ({t_end - t_kill:.1f}s after the kill){'' if done else ' - TIMED OUT'}")
        print(f"  duplicates {dups}, lost {lost}, streams out of order {out_of_order}")
        for f in friends:
            if len(final[f]) != len(set(final[f])):
                print(f"    {f[-3:]}: {final[f]}")
        ok = done and dups == 0 and lost == 0 and out_of_order == 0
        ok = ok and all(moved.get(f, 99) <= 30 for f in (held if t_back is None else watch))
        print("  OK" if ok else f"  FAILED (logs in {logdir})")
        return 0 if ok else 1
    finally:
        for name in list(workers):
            try:
                os.killpg(workers[name].pid, signal.SIGTERM)
                workers[name].wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        app_srv.stop()
        line_srv.stop()
        slack_srv.stop()
        rds.stop()


if __name__ == "__main__":
    raise SystemExit(main())
