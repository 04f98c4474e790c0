"""Benchmark of the CRM work at scale: /friend and 友だち情報 filters at 100,000 friends, and history export.

Fills a private Redis (``REDIS_URL`` when set, else :mod:`devtools.devredis`) with
100,000 1:1 conversations (10,000 open, in the /pending indexes) carrying 友だち情報
(tags VIP 5 %, 新規 20 %, 会員 50 %; a unique 会員番号; 希望条件), then times, server
side (Redis round trips included, Slack not):

* ``/friend`` searches (``find`` + reading the first rows) by name prefix, number, field value, tag, tag+field;
* ``/pending`` with ``tag:`` / field filters (``Backlog.query(within=…)``, ZINTERSTORE);
* the segment audience of a broadcast (``audience``);
* history export throughput (``--export-convs`` conversations × ``--messages`` each) to CSV + JSON,
  with the peak Python memory of the export (tracemalloc).

    .venv/bin/python bench/crm_bench.py [--friends 100000] [--open 10000] [--runs 200] [--export-convs 10000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bridge.friends.config import CrmConfig, FieldDef  # noqa: E402
from bridge.friends.export import export_to_files  # noqa: E402
from bridge.friends.search import find, load_rows  # noqa: E402
from bridge.friends.segment import Segment, audience  # noqa: E402
from bridge.store.friends import FriendStore  # noqa: E402
from bridge.friends.values import FriendData  # noqa: E402
from bridge.keys import Keys  # noqa: E402
from bridge.model import Conversation  # noqa: E402
from bridge.store import Store  # noqa: E402
from bridge.store.backlog import Backlog  # noqa: E402
from bridge.store.stores import Stores  # noqa: E402
from bridge.triage.marks import default_marks  # noqa: E402

SURNAMES = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"]
GIVEN = ["花子", "太郎", "美咲", "翔", "陽菜", "蓮", "結衣", "大輝", "さくら", "健"]
CRM = CrmConfig(fields=(FieldDef("member_no", "会員番号", "Member no."), FieldDef("wish", "希望条件", "Wish", "choice", ("賃貸", "売買"))))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))]


def fill(r: redis.Redis, keys: Keys, n: int, open_count: int, rng: random.Random) -> list[Conversation]:
    marks = default_marks()
    backlog_marks = [m.key for m in marks.backlog_marks()]
    open_ids = set(rng.sample(range(n), open_count))
    friends = FriendStore(r, keys)
    now = time.time()
    convs = []
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        line_id = "U" + uuid.UUID(int=rng.getrandbits(128)).hex
        last = now - rng.uniform(0, 90 * 86400)
        conv = Conversation(conv_id=f"default-{line_id}", source_type="user", number=i + 1, account="default",
                            line_id=line_id, name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}", channel="CTRIAGE01",
                            thread_ts=f"{int(last)}.000100", mark=rng.choice(backlog_marks) if i in open_ids else "resolved",
                            last_message_at=last, created_at=last - 86400,
                            waiting_since=now - rng.uniform(0, 86400) if i in open_ids else 0.0)
        convs.append(conv)
        pipe.hset(keys.conv(conv_id=conv.conv_id), mapping=conv.to_hash())
        tags = [t for t, p in (("VIP", 0.05), ("新規", 0.2), ("会員", 0.5)) if rng.random() < p]
        data = FriendData(fields={"member_no": f"M{i + 1:06d}", "wish": rng.choice(["賃貸", "売買"])}, tags=tags)
        friends._write(pipe, "default", conv.conv_id, FriendData(), data, "bench", now)
        pipe.zadd(keys.friend_names(account="default"), {f"{conv.name.casefold()}\0{conv.conv_id}": 0})
        pipe.hset(keys.conv_by_number(), str(i + 1), conv.conv_id)
        if len(pipe) >= 5000:
            pipe.execute()
    pipe.execute()
    return convs


def timed(fn, runs: int) -> tuple[float, float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), pct(times, 99), out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--friends", type=int, default=100_000)
    ap.add_argument("--open", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--export-convs", type=int, default=10_000)
    ap.add_argument("--messages", type=int, default=10)
    args = ap.parse_args()
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        from devtools.devredis import PrivateRedis
        server = PrivateRedis()
        url = server.url
    r = redis.Redis.from_url(url, decode_responses=True)
    keys = Keys("crmbench" + uuid.uuid4().hex[:6])
    store = Store(r, keys)
    try:
        rng = random.Random(42)
        t0 = time.perf_counter()
        convs = fill(r, keys, args.friends, args.open, rng)
        backlog = Backlog(r, keys, default_marks(), ["default"])
        backlog.rebuild()
        print(f"filled {args.friends:,} friends ({args.open:,} open) in {time.perf_counter() - t0:.1f}s")
        stores = Stores(store, backlog)
        friends = stores.friends
        print(f"\n{'query':44} {'matches':>8} {'p50 ms':>8} {'p99 ms':>8}")

        def friend(q: str):
            ids, total = find(stores, CRM, ["default"], q)
            load_rows(stores, ids)
            return total

        for label, q in (("/friend 山田 (name prefix)", "山田"), ("/friend 山田 花子", "山田 花子"),
                         ("/friend 54321 (number)", "54321"), ("/friend M054321 (field value)", "M054321"),
                         ("/friend 会員番号:M054321", "会員番号:M054321"), ("/friend tag:VIP", "tag:VIP"),
                         ("/friend tag:VIP 希望条件:売買", "tag:VIP 希望条件:売買"), ("/friend tag:会員", "tag:会員")):
            p50, p99, n = timed(lambda: friend(q), args.runs)
            print(f"{label:44} {n:>8,} {p50:>8.2f} {p99:>8.2f}")

        def pending(terms):
            within = {"default": friends.restriction("default", terms)}
            return backlog.query(accounts=["default"], within=within).total

        for label, terms in (("/pending tag:VIP", [("tag", "VIP")]), ("/pending tag:会員", [("tag", "会員")]),
                             ("/pending tag:VIP 希望条件:売買", [("tag", "VIP"), ("wish", "売買")]),
                             ("/pending (no filter, for comparison)", None)):
            fn = (lambda: backlog.query(accounts=["default"]).total) if terms is None else (lambda: pending(terms))
            p50, p99, n = timed(fn, args.runs)
            print(f"{label:44} {n:>8,} {p50:>8.2f} {p99:>8.2f}")

        for label, seg in (("broadcast audience tag:VIP", Segment("default", (("tag", "VIP"),))),
                           ("broadcast audience tag:会員", Segment("default", (("tag", "会員"),)))):
            p50, p99, aud = timed(lambda: audience(stores, seg, marks=default_marks()), max(5, args.runs // 20))
            print(f"{label:44} {len(aud.user_ids):>8,} {p50:>8.2f} {p99:>8.2f}")

        # history export
        n_conv = min(args.export_convs, len(convs))
        pipe = r.pipeline(transaction=False)
        base = time.time() - 86400
        for conv in convs[:n_conv]:
            entries = {}
            for k in range(args.messages):
                e = {"t": base + k, "dir": "in" if k % 2 == 0 else "out", "author": conv.line_id if k % 2 == 0 else "USTAFF01",
                     "name": conv.name, "kind": "text", "text": f"メッセージ {k} です。よろしくお願いします。",
                     "line_message_id": str(k), "slack_ts": f"{base + k:.6f}"}
                entries[json.dumps(e, ensure_ascii=False, sort_keys=True)] = base + k
            pipe.zadd(keys.transcript(conv_id=conv.conv_id), entries)
            if len(pipe) >= 2000:
                pipe.execute()
        pipe.execute()
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            rows = export_to_files(store, os.path.join(tmp, "h.csv"), os.path.join(tmp, "h.json"),
                                   archive_url="https://example.slack.com/archives/")
            took = time.perf_counter() - t0
            size = os.path.getsize(os.path.join(tmp, "h.csv")) + os.path.getsize(os.path.join(tmp, "h.json"))
            tracemalloc.start()   # a second run, traced (slower), for the peak memory
            export_to_files(store, os.path.join(tmp, "h.csv"), os.path.join(tmp, "h.json"))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"\nexport: {rows:,} messages of {n_conv:,} conversations (SCAN over {args.friends:,}) in {took:.1f}s"
              f" = {rows / took:,.0f} messages/s; files {size / 1e6:.1f} MB; peak Python memory {peak / 1e6:.1f} MB")
    finally:
        store.delete_namespace()
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
