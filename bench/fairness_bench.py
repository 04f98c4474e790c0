"""Fairness benchmark: while one friend's images relay on the ONLY worker, how long do others wait?

Setup, all on loopback: a private ``redis-server``, the LINE and Slack emulators and the bridge's
Flask app in this process (threads), and ONE ``rq worker`` process started as the Procfile starts it.

1. Three friends open their conversations (threads are created).
2. Friend A sends ``--images`` images in one webhook; each content download from LINE takes
   ``--content-delay`` seconds (the emulator holds the answer), so the relay takes a while.
3. As soon as A's first image is in Slack, friend B sends a text and a staff member replies in
   friend C's thread.
4. Measured: seconds from B's webhook until B's text is visible in Slack; from the staff reply's
   Slack event until LINE received it; how many of A's images were in Slack at those moments; the
   total time of A's relay. Also checked: A's images each once and in order.

    .venv/bin/python bench/fairness_bench.py [--images 40] [--content-delay 0.5]

Without fair drains (before), B and the staff reply waited for A's whole relay; with them (a drain
yields after bridge.engine.drain.SLICE_S seconds or SLICE_UNITS units and goes to the back of the queue),
they are served between two of A's slices. Exit status 0 when both were served before A's last image.
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
from bridge.model import conv_key  # noqa: E402
from bridge.relay.batch import texts_of_post  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from bridge.store import Store  # noqa: E402
from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_api import LineEmulator  # noqa: E402
from emulators.line_media import make_png  # noqa: E402
from emulators.line_webhooks import WebhookFactory, send_webhook  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402
from emulators.slack_api import SlackEmulator  # noqa: E402
from emulators.slack_events import SlackEventSender  # noqa: E402

TRIAGE, STAFF = "CTRIAGE01", "USTAFF01"
SECRET, TOKEN, SIGNING = "bench-line-secret", "bench-line-token", "bench-signing"


def wait_for(predicate, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--content-delay", type=float, default=0.5, help="seconds LINE takes to answer each download")
    args = ap.parse_args()

    rds = PrivateRedis()
    line = LineEmulator(channel_access_token=TOKEN, channel_secret=SECRET)
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret=SIGNING)
    line_srv, slack_srv = serve_in_thread(line.app), serve_in_thread(slack.app)
    line.url, slack.url = line_srv.url, slack_srv.url
    slack.add_channel(TRIAGE, "line-triage", members=["UBOT", STAFF])
    slack.add_user(STAFF, "sato", real_name="佐藤 一郎", display_name="佐藤")
    ns = "lsbfb" + uuid.uuid4().hex[:6]
    env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SIGNING, "SLACK_TRIAGE_CHANNEL": TRIAGE, "REDIS_URL": rds.url,
           "PUBLIC_BASE_URL": "http://127.0.0.1", "LINE_API_BASE_URL": line.url,
           "SLACK_API_BASE_URL": slack.url + "/api/", "BRIDGE_NAMESPACE": ns,
           "BRIDGE_SEND_DELAY_SECONDS": "0"}  # the relay, not the undo window of staff replies
    from handlers.app import create_app

    app_srv = serve_in_thread(create_app(Settings.from_env(env)))
    store = Store(redis.Redis.from_url(rds.url, decode_responses=True), Keys(ns))
    logdir = Path(tempfile.mkdtemp(prefix="lsb-fairness-bench-"))
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler", "--worker-class",
         "bridge.worker.BridgeWorker", "--serializer", "json", "--url", rds.url, "--name", ns + "-w1", ns, ns + "-low"],
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT, start_new_session=True,
        stdout=open(logdir / "worker.log", "w"), stderr=subprocess.STDOUT)
    hook = WebhookFactory(line)
    events = SlackEventSender(app_srv.url + "/slack/events", slack, signing_secret=SIGNING)
    a, b, c = (f"U{0xfa1400 + i:032x}" for i in range(3))
    try:
        r = redis.Redis.from_url(rds.url)
        assert wait_for(lambda: f"rq:worker:{ns}-w1".encode() in r.smembers("rq:workers"), 60), "worker did not start"
        for user, name in ((a, "A"), (b, "B"), (c, "C")):
            line.add_user(user, f"友だち {name}")
            assert send_webhook(app_srv.url + "/line/webhook", SECRET, hook.body([hook.text(user, "こんにちは")])).status_code == 200

        def thread(user: str) -> str | None:
            conv = store.get_conversation(conv_key("default", user))
            return conv.thread_ts if conv and conv.thread_ts and slack.messages(TRIAGE, conv.thread_ts) else None
        assert wait_for(lambda: all(thread(u) for u in (a, b, c)), 60), "threads not created"
        threads = {u: thread(u) for u in (a, b, c)}

        def images() -> list[dict]:
            return [m for m in slack.messages(TRIAGE, threads[a]) if slack.shown_files(m)]

        pngs = [make_png(rgb=(i % 256, 80, 160)) for i in range(args.images)]
        line.fail_next("getMessageContent", 0, delay=args.content_delay, times=args.images)
        t0 = time.time()
        body = hook.body([hook.image(a, data=png, content_type="image/png") for png in pngs])
        assert send_webhook(app_srv.url + "/line/webhook", SECRET, body).status_code == 200
        assert wait_for(lambda: images(), 120), "A's first image never arrived"

        t_b = time.time()
        assert send_webhook(app_srv.url + "/line/webhook", SECRET, hook.body([hook.text(b, "B: 急ぎの質問")])).status_code == 200
        t_c = time.time()
        _, resp = events.user_message(TRIAGE, STAFF, "C さんへの返信", thread_ts=threads[c])
        assert resp.status_code == 200
        seen: dict[str, tuple[float, int]] = {}

        def check() -> bool:
            if "b" not in seen and "B: 急ぎの質問" in [t for m in slack.messages(TRIAGE, threads[b])
                                                     for t in texts_of_post(m.get("text") or "")]:
                seen["b"] = (time.time() - t_b, len(images()))
            if "c" not in seen and "C さんへの返信" in line.delivered_texts(c):
                seen["c"] = (time.time() - t_c, len(images()))
            if "a" not in seen and len(images()) >= args.images:
                seen["a"] = (time.time() - t0, len(images()))
            return len(seen) == 3
        done = wait_for(check, 300)
        got = [slack.file_content(slack.shown_files(m)[0]) for m in images()]
        in_order = got == pngs
        print(f"fairness bench: 1 worker, friend A sends {args.images} images (LINE download {args.content_delay}s each)")
        if "b" in seen:
            print(f"  friend B's text in Slack {seen['b'][0]:.1f}s after its webhook ({seen['b'][1]}/{args.images} of A's images in Slack then)")
        if "c" in seen:
            print(f"  staff reply to C on LINE {seen['c'][0]:.1f}s after its Slack event ({seen['c'][1]}/{args.images} of A's images in Slack then)")
        if "a" in seen:
            print(f"  all of A's images in Slack {seen['a'][0]:.1f}s after A's webhook; each once, in order: {in_order}")
        ok = done and in_order and seen["b"][1] < args.images and seen["c"][1] < args.images
        print("  OK" if ok else f"  FAILED{'' if done else ' (timed out)'} (logs in {logdir})")
        return 0 if ok else 1
    finally:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        app_srv.stop()
        line_srv.stop()
        slack_srv.stop()
        rds.stop()


if __name__ == "__main__":
    raise SystemExit(main())
