"""Benchmark of the archive (#18): write cost per message and per MB of media, and the export of 100,000 messages.

Uses ``REDIS_URL`` when set (a namespace of its own, deleted afterwards), otherwise a private
``redis-server`` (:mod:`devtools.devredis`); the media archive is a temporary local directory,
and with ``--s3`` also an S3 bucket on moto's standalone server (real HTTP on localhost).

    .venv/bin/python bench/archive_bench.py [--messages 5000] [--media-mb 1 --media-files 20]
                                            [--export 100000 --conversations 1000] [--s3]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bridge.archive import entry as E  # noqa: E402
from bridge.archive.media import MediaArchive  # noqa: E402
from bridge.archive.recorder import Recorder  # noqa: E402
from bridge.friends.export import export_to_files  # noqa: E402
from bridge.keys import Keys  # noqa: E402
from bridge.model import Conversation, InboundMessage  # noqa: E402
from bridge.store import Store  # noqa: E402
from bridge.store.messages import transcript_add_many  # noqa: E402

TEXT = "注文した商品がまだ届きません。確認していただけますか？ 注文番号は A-12345 です。"


def bench_messages(store: Store, n: int) -> dict:
    history = Recorder(SimpleNamespace(store=store, slack=None, archive=None))
    conv = Conversation(conv_id="default-Ubench", source_type="user", number=1, line_id="Ubench", name="山田 花子",
                        channel="CBENCH")
    before = int(store.r.info("memory")["used_memory"])
    times = []
    t0 = time.time()
    for i in range(n):
        msg = InboundMessage(account="default", conv_id=conv.conv_id, line_id="Ubench", source_type="user",
                             sender_id="Ubench", kind="text", text=TEXT, message_id=f"{10**15 + i}")
        s = time.perf_counter()
        history.friend(conv, msg, "山田 花子", f"{t0 + i:.6f}", t0 + i)
        times.append(time.perf_counter() - s)
    after = int(store.r.info("memory")["used_memory"])
    return {"n": n, "p50_us": statistics.median(times) * 1e6, "p99_us": sorted(times)[int(n * 0.99) - 1] * 1e6,
            "bytes_per_entry": (after - before) / n}


def bench_media(archive: MediaArchive, mb: float, files: int) -> dict:
    size = int(mb * 1024 * 1024)
    blobs = [os.urandom(size) for _ in range(files)]
    src_dir = tempfile.mkdtemp(prefix="lsb-bench-src-")
    paths = []
    for i, blob in enumerate(blobs):
        p = os.path.join(src_dir, f"{i}")
        with open(p, "wb") as f:
            f.write(blob)
        paths.append(p)
    t = time.perf_counter()
    for p in paths:
        archive.spool(p, "image/jpeg")               # on the relay's path: a local copy, hashed
    spool_s = time.perf_counter() - t
    t = time.perf_counter()
    result = archive.flush(limit=files + 1)           # off the path: into the store
    flush_s = time.perf_counter() - t
    assert result.moved == files and not result.error, result
    total_mb = mb * files
    return {"spool_ms_per_mb": spool_s / total_mb * 1000, "flush_ms_per_mb": flush_s / total_mb * 1000}


def fill_export(store: Store, messages: int, conversations: int) -> None:
    per = messages // conversations
    t0 = 1_780_000_000.0
    for c in range(conversations):
        uid = f"U{c:032x}"
        conv, _ = store.ensure_conversation(Conversation(conv_id=f"default-{uid}", source_type="user", number=0,
                                                         line_id=uid, name=f"友だち{c}", channel="CBENCH"))
        batch = []
        for i in range(per):
            at = t0 + c + i * 60
            if i % 2:
                batch.append((conv.conv_id, E.make(E.slack_id("CBENCH", f"{at:.6f}"), at, "out", "text", author="USTAFF",
                                                   name="佐藤", text=TEXT, slack_ts=f"{at:.6f}", via="reply",
                                                   status="sent")))
            else:
                batch.append((conv.conv_id, E.make(E.line_id(f"{c}{i:06d}"), at, "in", "text", author=uid,
                                                   name=f"友だち{c}", text=TEXT, line_message_id=f"{c}{i:06d}")))
        transcript_add_many(store, batch)


def bench_export(store: Store, out_dir: str) -> dict:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    n = export_to_files(store, os.path.join(out_dir, "x.csv"), os.path.join(out_dir, "x.jsonl"))
    seconds = time.perf_counter() - t
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    export_to_files(store, os.path.join(out_dir, "y.csv"), os.path.join(out_dir, "y.jsonl"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds, "py_peak_mb": peak / 1e6,
            "rss_growth_mb": (rss_after - rss_before) / 1024,
            "csv_mb": os.path.getsize(os.path.join(out_dir, "x.csv")) / 1e6,
            "jsonl_mb": os.path.getsize(os.path.join(out_dir, "x.jsonl")) / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--media-mb", type=float, default=1.0)
    ap.add_argument("--media-files", type=int, default=20)
    ap.add_argument("--export", type=int, default=100_000)
    ap.add_argument("--conversations", type=int, default=1000)
    ap.add_argument("--s3", action="store_true", help="also the object-store path (moto's S3 server)")
    args = ap.parse_args()
    server = None
    if os.environ.get("REDIS_URL"):
        url = os.environ["REDIS_URL"]
    else:
        from devtools.devredis import PrivateRedis

        server = PrivateRedis()
        url = server.url
    r = redis.Redis.from_url(url, decode_responses=True)
    keys = Keys("lsbbench" + uuid.uuid4().hex[:6])
    store = Store(r, keys)
    tmp = tempfile.mkdtemp(prefix="lsb-archive-bench-")
    moto = None
    try:
        m = bench_messages(store, args.messages)
        print(f"record a message (Recorder.friend → Redis): p50 {m['p50_us']:.0f} µs, p99 {m['p99_us']:.0f} µs, "
              f"{m['bytes_per_entry']:.0f} B of Redis memory per entry ({m['n']:,} messages)")
        local = bench_media(MediaArchive(os.path.join(tmp, "archive")), args.media_mb, args.media_files)
        print(f"media, local dir: spool (on the relay's path) {local['spool_ms_per_mb']:.1f} ms/MB, "
              f"flush into the archive {local['flush_ms_per_mb']:.1f} ms/MB ({args.media_files} × {args.media_mb:g} MB)")
        if args.s3:
            from tests.s3server import CREDENTIALS, MotoServer

            os.environ.update(CREDENTIALS)
            moto = MotoServer(os.path.join(tmp, "moto.log"))
            import boto3

            boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1").create_bucket(Bucket="bench")
            s3 = bench_media(MediaArchive("s3://bench/media", spool_dir=os.path.join(tmp, "spool"),
                                          storage_options={"client_kwargs": {"endpoint_url": moto.url}}),
                             args.media_mb, args.media_files)
            print(f"media, S3 (moto over HTTP): spool {s3['spool_ms_per_mb']:.1f} ms/MB, "
                  f"flush (upload) {s3['flush_ms_per_mb']:.1f} ms/MB")
        t = time.perf_counter()
        fill_export(store, args.export, args.conversations)
        print(f"filled {args.export:,} messages in {args.conversations:,} conversations in {time.perf_counter() - t:.1f} s")
        x = bench_export(store, tmp)
        print(f"export of {x['rows']:,} messages: {x['seconds']:.1f} s ({x['rows_per_s']:,.0f} rows/s), "
              f"Python heap peak {x['py_peak_mb']:.1f} MB, RSS growth {x['rss_growth_mb']:.1f} MB; "
              f"CSV {x['csv_mb']:.1f} MB, JSON lines {x['jsonl_mb']:.1f} MB")
    finally:
        for key in r.scan_iter(match=keys.pattern(), count=5000):
            r.delete(key)
        if moto is not None:
            moto.stop()
        if server is not None:
            server.stop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
