"""How fast a LINE webhook carrying many events is answered (LINE waits 2 s).

``.venv/bin/python bench/webhook_burst_bench.py [--events 500] [--runs 7] [--forward 0]``

The bridge's Flask app (in this process, on a loopback HTTP server) with a private
``redis-server`` (or ``REDIS_URL``, fresh namespace, keys deleted afterwards); no rq
workers run, so only the web tier is measured: verify, parse, clean, dedupe + append
(one pipelined round trip), enqueue the drain jobs (one ``enqueue_many``). Each run
sends one body of N text events from N/2 friends, all new; prints p50 / max in ms.
``--forward K`` gives the account K forwarding targets (queued in the same round trip; nothing is sent).
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_webhooks import WebhookFactory, send_webhook  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--forward", type=int, default=0, help="forwarding targets of the account")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    private = None if os.environ.get("REDIS_URL") else PrivateRedis()
    redis_url = os.environ.get("REDIS_URL") or private.url
    namespace = "lsbbench" + uuid.uuid4().hex[:6]
    env = {"LINE_CHANNEL_SECRET": "bench-secret", "LINE_CHANNEL_ACCESS_TOKEN": "bench-token", "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": "bench-signing", "SLACK_TRIAGE_CHANNEL": "CBENCH", "REDIS_URL": redis_url,
           "PUBLIC_BASE_URL": "http://127.0.0.1", "BRIDGE_NAMESPACE": namespace,
           "LINE_FORWARD_URLS": ",".join(f"https://tool{i}.example/hook/{uuid.uuid4().hex}" for i in range(args.forward))}
    from emulators.slack_api import SlackEmulator

    slack_srv = serve_in_thread(SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-signing").app)
    env["SLACK_API_BASE_URL"] = slack_srv.url + "/api/"  # bolt checks the token (auth.test) at start-up
    os.environ.update(env)
    from bridge.settings import Settings
    from handlers.app import create_app

    app = create_app(Settings.from_env(env))
    server = serve_in_thread(app)
    hooks = WebhookFactory(destination="U" + "b" * 32)
    times = []
    try:
        for run in range(args.runs):
            events = [hooks.text("U%032x" % (run * 100000 + i % (args.events // 2 or 1)), f"burst {i}")
                      for i in range(args.events)]
            body = hooks.body(events)
            started = time.perf_counter()
            resp = send_webhook(server.url + "/line/webhook", "bench-secret", body, timeout=60)
            times.append((time.perf_counter() - started) * 1000)
            assert resp.status_code == 200 and resp.json()["accepted"] == args.events, resp.text
        print(f"{args.events} events per body, {args.forward} forwarding target(s), {args.runs} runs: p50 {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms (LINE waits 2000 ms)")
    finally:
        server.stop()
        slack_srv.stop()
        import redis

        r = redis.Redis.from_url(redis_url)
        for key in r.scan_iter(match=f"{namespace}*"):
            r.delete(key)
        if private:
            private.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
