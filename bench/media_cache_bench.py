"""/media caching benchmark: what a repeated fetch of a made image costs, cold and cached.

Set-up (loopback, one process): Redis (a private ``redis-server``), the Slack emulator, the
bridge's web app (werkzeug, threaded). One PNG of ``--size-mb`` MB (1200×900) is "attached in
Slack"; its ≤ 1 MB preview and its JPEG conversion are fetched through ``/media``:

1. cold: the first fetch (downloaded from Slack, re-encoded with Pillow, kept on disk);
2. cached: ``--repeat`` more fetches (read from the on-disk cache, Slack not asked);
3. 304: ``--repeat`` fetches with ``If-None-Match`` (nothing read at all).

Median milliseconds per fetch, and how many times Slack's file host was asked.

    .venv/bin/python bench/media_cache_bench.py [--size-mb 3] [--repeat 20]
"""
from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_media import make_png  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402
from emulators.slack_api import SlackEmulator  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=float, default=3)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    logging.disable(logging.INFO)

    from bridge.media.cache import default_directory
    from bridge.media.sign import media_url
    from bridge.settings import Settings
    from handlers.app import create_app

    rds = PrivateRedis()
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-signing")
    slack_server = serve_in_thread(slack.app)
    slack.url = slack_server.url
    namespace = "mcb" + uuid.uuid4().hex[:6]  # a fresh namespace: a cold on-disk cache
    try:
        settings = Settings.from_env({
            "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t", "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-signing", "SLACK_TRIAGE_CHANNEL": "CTRIAGE01", "REDIS_URL": rds.url,
            "PUBLIC_BASE_URL": "http://127.0.0.1", "SLACK_API_BASE_URL": slack.url + "/api/",
            "BRIDGE_NAMESPACE": namespace})
        web = serve_in_thread(create_app(settings))
        png = make_png(1200, 900, min_bytes=int(args.size_mb * 1024 * 1024))
        stored = slack.add_file(png, "big.png", mimetype="image/png")
        print(f"PNG {len(png) / 1024 / 1024:.1f} MB, {args.repeat} repeats")
        for variant in ("preview", "jpeg"):
            url = media_url(settings, stored["id"], variant).replace("http://127.0.0.1", web.url, 1)
            before = len(slack.file_downloads)
            got: list[requests.Response] = []
            cold = timed(lambda: got.append(requests.get(url, timeout=60)))
            assert got[0].status_code == 200, got[0].status_code
            etag = got[0].headers["ETag"]
            cached = [timed(lambda: requests.get(url, timeout=60)) for _ in range(args.repeat)]
            not_modified = [timed(lambda: requests.get(url, headers={"If-None-Match": etag}, timeout=60))
                            for _ in range(args.repeat)]
            print(f"{variant:8s} cold {cold:7.1f} ms | cached median {statistics.median(cached):6.1f} ms"
                  f" | 304 median {statistics.median(not_modified):6.1f} ms"
                  f" | Slack file downloads {len(slack.file_downloads) - before}")
        web.stop()
    finally:
        slack_server.stop()
        rds.stop()
        shutil.rmtree(default_directory(namespace), ignore_errors=True)


if __name__ == "__main__":
    main()
