"""Benchmark of ``/pending`` at scale: 100,000 friends, 10,000 open conversations.

Fills a Redis database with conversation hashes (``REDIS_URL`` when set, otherwise a
private ``redis-server`` from :mod:`devtools.devredis`), builds the backlog indexes, then
measures the server-side time of ``/pending`` (``parse_pending_args`` +
``Backlog.query`` + ``render_pending``) for several filters, and Redis memory per
friend; then the same /pending as a signed slash command through the real HTTP stack
(Flask + bolt) against the Slack emulator. Cleans up its namespace afterwards.

    .venv/bin/python bench/pending_bench.py [--friends 100000] [--open 10000] [--runs 300]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import unicodedata
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bridge.store.backlog import Backlog  # noqa: E402
from bridge.keys import Keys  # noqa: E402
from bridge.triage.marks import default_marks  # noqa: E402
from bridge.model import Conversation  # noqa: E402
from bridge.slack_ui.pending import PendingFilter, parse_pending_args, render_pending  # noqa: E402
from bridge.store import Store  # noqa: E402

STAFF = [f"USTAFF{i:03d}" for i in range(15)]
SURNAMES = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"]
GIVEN = ["花子", "太郎", "美咲", "翔", "陽菜", "蓮", "結衣", "大輝", "さくら", "健"]
TEXTS = ["注文した商品がまだ届きません。確認していただけますか？", "ログインできなくなりました", "営業時間を教えてください",
         "返品の方法を知りたいです", "ポイントが反映されていません", "ありがとうございました！", "クーポンの使い方がわかりません"]


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (CJK characters take two)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)


def used_memory(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def fill(r: redis.Redis, keys: Keys, friends: int, open_count: int, now: float, rng: random.Random) -> list[Conversation]:
    """Write ``friends`` conversation hashes; ``open_count`` of them carry a backlog mark."""
    marks = default_marks()
    backlog_marks = [m.key for m in marks.backlog_marks()]
    weights = [3 if k in ("complaint", "account_trouble") else 30 if k == "needs_reply" else 10 for k in backlog_marks]
    open_ids = set(rng.sample(range(friends), open_count))
    pipe = r.pipeline(transaction=False)
    convs: list[Conversation] = []
    for i in range(friends):
        is_open = i in open_ids
        last = now - rng.uniform(0, 90 * 86400)
        conv = Conversation(
            conv_id="U" + uuid.UUID(int=rng.getrandbits(128)).hex, source_type="user", number=i + 1,
            name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
            picture_url=f"https://profile.line-scdn.net/0h{uuid.UUID(int=rng.getrandbits(128)).hex}",
            channel="CTRIAGE01", thread_ts=f"{int(last)}.{rng.randrange(10**6):06d}",
            mark=rng.choices(backlog_marks, weights)[0] if is_open else "resolved",
            assignee=(rng.choice(STAFF) if rng.random() < 0.6 else "") if is_open else rng.choice(STAFF + [""]),
            created_at=last - rng.uniform(0, 365 * 86400), last_message_at=last,
            last_message_preview=rng.choice(TEXTS),
            waiting_since=(now - rng.uniform(0, 7 * 86400)) if is_open and rng.random() < 0.85 else 0.0,
            last_staff_reply_at=last - 60,
        )
        convs.append(conv)
        pipe.hset(keys.conv(conv_id=conv.conv_id), mapping=conv.to_hash())
        if len(pipe) >= 2000:
            pipe.execute()
    pipe.execute()
    return convs


def http_round_trips(redis_url: str, keys: Keys, runs: int) -> None:
    """The same /pending through the real stack: a signed slash command to the Flask app
    (bolt signature check, triage-team membership check, query, render, JSON), timed at
    the client over loopback. Slack itself is the bundled emulator (auth.test, members)."""
    import logging

    from bridge.settings import Settings
    from emulators.server import serve_in_thread
    from emulators.slack_api import SlackEmulator
    from emulators.slack_events import SlackEventSender
    from handlers.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-secret")
    slack.add_channel("CBENCH01", "triage", members=STAFF)
    for uid in STAFF:
        slack.add_user(uid, uid.lower())
    slack_srv = serve_in_thread(slack.app)
    namespace = keys.prefix.split(":")[0]
    settings = Settings.from_env({
        "LINE_CHANNEL_SECRET": "x", "LINE_CHANNEL_ACCESS_TOKEN": "x", "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-secret", "SLACK_TRIAGE_CHANNEL": "CBENCH01", "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": "http://127.0.0.1", "SLACK_API_BASE_URL": slack_srv.url + "/api/",
        "LINE_API_BASE_URL": "http://127.0.0.1:9", "BRIDGE_NAMESPACE": namespace,
    })
    web = serve_in_thread(create_app(settings))
    logging.getLogger().setLevel(logging.WARNING)
    try:
        sender = SlackEventSender(web.url + "/slack/events", slack, signing_secret="bench-secret")
        print()
        print(f"{'over HTTP (signed command → JSON)':34} {'':>6} {'':>4} {'':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        for label, text in (("/pending", ""), ("/pending mine クレーム 質問(中)", "mine クレーム 質問(中)")):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                resp = sender.command("/pending", text, user_id=STAFF[0], channel_id="CBENCH01")
                times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200 and resp.json().get("blocks"), resp.text[:200]
            print(f"{pad(label, 34)} {'':>6} {'':>4} {'':>6} {statistics.median(times):>7.2f}"
                  f" {pct(times, 99):>7.2f} {max(times):>7.2f}")
    finally:
        web.stop()
        slack_srv.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--friends", type=int, default=100_000)
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--private", action="store_true", help="use a private redis-server even if REDIS_URL is set")
    args = ap.parse_args()

    server = None
    url = None if args.private else os.environ.get("REDIS_URL")
    if not url:
        from devtools.devredis import PrivateRedis

        server = PrivateRedis()
        url = server.url
    r = redis.Redis.from_url(url, decode_responses=True)
    keys = Keys("bench" + uuid.uuid4().hex[:8])
    store = Store(r, keys)
    rng = random.Random(42)
    now = time.time()
    marks = default_marks()
    try:
        print(f"redis: {url} ({'private' if server else 'REDIS_URL'}), redis {r.info('server')['redis_version']}")
        mem0 = used_memory(r)
        t0 = time.perf_counter()
        convs = fill(r, keys, args.friends, args.open, now, rng)
        t_fill = time.perf_counter() - t0
        mem1 = used_memory(r)

        backlog = Backlog(r, keys, marks)
        t0 = time.perf_counter()
        pipe = r.pipeline(transaction=False)
        for conv in convs:
            if marks.state(conv.mark) != "closed":
                backlog.index(conv, pipe=pipe)
                if len(pipe) >= 1000:
                    pipe.execute()
        pipe.execute()
        t_index = time.perf_counter() - t0
        mem2 = used_memory(r)

        t0 = time.perf_counter()
        size = backlog.rebuild()
        t_rebuild = time.perf_counter() - t0

        t0 = time.perf_counter()
        for conv in rng.sample(convs, 1000):  # single index() round trips, as the domain does them
            backlog.index(conv)
        t_single = (time.perf_counter() - t0) / 1000

        print(f"friends {args.friends:,}  backlog {size:,} (open+waiting; {backlog.query(limit=1).total:,} open)")
        print(f"fill {t_fill:.1f} s · index {size:,} pipelined {t_index:.2f} s · single index() {t_single * 1000:.2f} ms"
              f" · full rebuild (SCAN {args.friends:,}) {t_rebuild:.2f} s")
        print(f"memory: hashes {(mem1 - mem0) / args.friends:,.0f} B/friend · indexes {(mem2 - mem1) / args.friends:,.1f} B/friend"
              f" ({(mem2 - mem1) / max(1, size):,.0f} B per backlog entry) · total {(mem2 - mem0) / args.friends:,.0f} B/friend"
              f" ({(mem2 - mem0) / 2**20:,.1f} MiB)")

        def permalink(row) -> str:
            return f"https://example.slack.com/archives/{row.channel}/p{row.thread_ts.replace('.', '')}"

        variants = [
            ("/pending", ""),
            ("/pending mine", "mine"),
            ("/pending unassigned", "unassigned"),
            ("/pending <@U…>", f"<@{STAFF[3]}|someone>"),
            ("/pending クレーム", "クレーム"),
            ("/pending mine クレーム 質問(中)", "mine クレーム 質問(中)"),
            ("/pending 返信待ち", "返信待ち"),
            ("/pending unassigned all", "unassigned all"),
            ("/pending (page 5)", None),
        ]
        print()
        print(f"{'variant':34} {'total':>6} {'rows':>4} {'blocks':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        worst = 0.0
        for label, text in variants:
            times: list[float] = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                if text is None:
                    f = PendingFilter.decode(PendingFilter(offset=80).encode())
                else:
                    f = parse_pending_args(text, marks, STAFF[0])
                page = backlog.query(now=now, **f.query_kwargs())
                _, blocks = render_pending(page, marks, "ja", permalink_for=permalink, filters_text=f.describe(marks),
                                           more_value=f.next_page().encode() if page.has_more else None)
                times.append((time.perf_counter() - t0) * 1000)
            worst = max(worst, pct(times, 99))
            print(f"{pad(label, 34)} {page.total:>6} {len(page.rows):>4} {len(blocks):>6} {statistics.median(times):>7.2f}"
                  f" {pct(times, 99):>7.2f} {max(times):>7.2f}")
        print(f"\nworst p99 {worst:.2f} ms (Slack's window is 3000 ms)")
        http_round_trips(url, keys, args.runs)
    finally:
        store.delete_namespace()
        r.close()
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
