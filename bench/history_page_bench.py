"""Benchmark of the history page (issue #18): one conversation of 2,000 messages (texts both ways,
notes, mark/assignee events, every 20th a photo in the media archive) over a few months.

Measures, with a real Redis (``REDIS_URL``, else a private ``redis-server``) and the bundled Slack
emulator (channel membership): the server-side build time (transcript read + view + jinja2) of the
newest page as served (``BRIDGE_HISTORY_PAGE_SIZE`` entries, read by cursor) beside the whole
conversation in one page (as before paging), and, through the real web app over HTTP (Flask,
signature and membership check), the page's response time and size (bytes, and gzip'd as a proxy
would send it); also a search and one image request through the page's media route. Cleans up its
namespace and archive directory afterwards.

    .venv/bin/python bench/history_page_bench.py [--messages 2000] [--runs 20]
    .venv/bin/python bench/history_page_bench.py --messages 10000 --runs 10   # a friend of several years
"""
from __future__ import annotations

import argparse
import gzip
import io
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from bridge.archive import entry as E  # noqa: E402
from bridge.history.links import history_url  # noqa: E402
from bridge.history.render import page_html  # noqa: E402
from bridge.history.view import build, parse_entries  # noqa: E402
from bridge.model import Conversation  # noqa: E402
from bridge.store.history import transcript_members, transcript_window  # noqa: E402
from bridge.store.messages import transcript_add  # noqa: E402

TEXTS = ["注文した商品がまだ届きません。確認していただけますか？", "予約の変更をお願いします", "営業時間を教えてください",
         "返品の方法を知りたいです", "ありがとうございました！", "承知しました。確認して折り返しご連絡します。",
         "来週の火曜日 14 時でいかがでしょうか", "レシートの写真を送ります"]
STAFF = ["USTAFF001", "USTAFF002"]


def photo(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (i * 37 % 256, i * 91 % 256, 120)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def fill(rt, conv: Conversation, messages: int) -> int:
    rng = random.Random(18)
    t = time.time() - 120 * 86400
    photos = 0
    for i in range(messages):
        t += rng.uniform(60, 5 * 3600)
        kind = rng.random()
        if i % 20 == 0:
            ref = rt.archive.put(photo(i), "image/jpeg", f"photo{i}.jpg")
            entry = E.make(f"line:{i}", t, "in", "image", author=conv.line_id, name="山田 花子", media=[ref])
            photos += 1
        elif kind < 0.45:
            entry = E.make(f"line:{i}", t, "in", "text", author=conv.line_id, name="山田 花子", text=rng.choice(TEXTS))
        elif kind < 0.85:
            entry = E.make(f"slack:C:{i}", t, "out", "text", author=STAFF[i % 2], name="佐藤", text=rng.choice(TEXTS),
                           via=rng.choice(["reply", "push"]), status="sent")
        elif kind < 0.93:
            entry = E.make(f"slack:C:{i}", t, "note", "note", author=STAFF[0], name="佐藤", text="社内メモ: " + rng.choice(TEXTS))
        else:
            entry = E.make(f"event:{i}", t, "event", rng.choice(["mark", "assignee"]), author=STAFF[0], name="佐藤",
                           text=rng.choice(["対応中", "対応済み", "佐藤"]))
        transcript_add(rt.store, conv.conv_id, t, entry)
    return photos


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from bridge.runtime import Runtime
    from bridge.settings import Settings
    from emulators.server import serve_in_thread
    from emulators.slack_api import SlackEmulator
    from handlers.app import create_app

    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from devtools.devredis import PrivateRedis

        server = PrivateRedis()
        url = server.url
    archive_dir = tempfile.mkdtemp(prefix="history-bench-archive-")
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-secret")
    slack.add_channel("CBENCH01", "triage", members=STAFF)
    slack_srv = serve_in_thread(slack.app)
    settings = Settings.from_env({
        "LINE_CHANNEL_SECRET": "x", "LINE_CHANNEL_ACCESS_TOKEN": "x", "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-secret", "SLACK_TRIAGE_CHANNEL": "CBENCH01", "REDIS_URL": url,
        "PUBLIC_BASE_URL": "http://127.0.0.1", "SLACK_API_BASE_URL": slack_srv.url + "/api/",
        "LINE_API_BASE_URL": "http://127.0.0.1:9", "BRIDGE_NAMESPACE": "hbench" + uuid.uuid4().hex[:8],
        "BRIDGE_ARCHIVE_DIR": archive_dir})
    rt = Runtime(settings)
    web = serve_in_thread(create_app(settings))
    logging.getLogger().setLevel(logging.WARNING)
    try:
        conv, _ = rt.store.ensure_conversation(Conversation(conv_id="default:Ubench", source_type="user", number=0,
                                                            line_id="Ubench", name="山田 花子", channel="CBENCH01"))
        t0 = time.perf_counter()
        photos = fill(rt, conv, args.messages)
        print(f"redis: {url} ({'private' if server else 'REDIS_URL'}); {args.messages} messages ({photos} photos) "
              f"written in {time.perf_counter() - t0:.1f} s")

        tz = ZoneInfo("Asia/Tokyo")
        per_page = settings.history_page_size
        shown = {}
        builds: dict[str, dict[str, list[float]]] = {}
        for way in ("whole conversation (before paging)", f"newest page of {per_page} (paged)"):
            phases = builds[way] = {"read (Redis)": [], "view": [], "render (jinja2)": [], "total": []}
            for _ in range(args.runs):
                t0 = time.perf_counter()
                if way.startswith("whole"):
                    entries, position = parse_entries(transcript_members(rt.store, conv.conv_id)), 0
                else:
                    window = transcript_window(rt.store, conv.conv_id, per_page)
                    entries, position = parse_entries(window.members), window.position
                t1 = time.perf_counter()
                view = build(entries, tz=tz, lang="ja", media_base="/history/x/media", position=position)
                t2 = time.perf_counter()
                html = page_html(view, title="#1", summary="", query="", self_url="/history/x", lang="ja")
                t3 = time.perf_counter()
                for name, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                    phases[name].append(value * 1000)
            shown[way] = html.count('data-testid="history-message"') + html.count('data-testid="history-event"')
        assert list(shown.values()) == [args.messages, min(per_page, args.messages)], shown
        entries = parse_entries(transcript_members(rt.store, conv.conv_id))

        link = history_url(settings, conv.conv_id, STAFF[0]).replace("http://127.0.0.1", web.url)
        http, size, gz = [], 0, 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            resp = requests.get(link, timeout=30)
            http.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, resp.status_code
            size, gz, images = len(resp.content), len(gzip.compress(resp.content)), resp.text.count("<img ")
        search = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            searched = requests.get(history_url(settings, conv.conv_id, STAFF[0], "予約").replace("http://127.0.0.1", web.url),
                                    timeout=30)
            search.append((time.perf_counter() - t0) * 1000)
        hits = searched.text.count("<mark>")
        sha = next(e for e in entries if e.get("media"))["media"][0]["sha256"]
        img = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            resp = requests.get(f"{link}/media/{sha}", timeout=30)
            img.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"

        print(f"\nhistory page of {args.messages} messages, {args.runs} runs   {'p50 ms':>8} {'max ms':>8}")
        for way, phases in builds.items():
            print(f"  {way}: {shown[way]} entries shown")
            for name, values in phases.items():
                print(f"    server-side {name:20} {statistics.median(values):>8.1f} {max(values):>8.1f}")
        print(f"  over HTTP (token, membership, page) {statistics.median(http):>8.1f} {max(http):>8.1f}")
        print(f"  a search over HTTP (whole conversation) {statistics.median(search):>4.1f} {max(search):>8.1f}")
        print(f"  one photo via /history/…/media      {statistics.median(img):>8.1f} {max(img):>8.1f}")
        print(f"page size: {size / 1024:.0f} KB HTML ({gz / 1024:.0f} KB gzip'd), {size / min(per_page, args.messages):.0f} bytes/entry; "
              f"photos load lazily ({images} <img loading=lazy> on the page); search \"予約\": {hits} matches marked on its page")
    finally:
        web.stop()
        slack_srv.stop()
        rt.store.delete_namespace()
        shutil.rmtree(archive_dir, ignore_errors=True)
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
