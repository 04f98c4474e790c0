"""Benchmark of a campaign's follows: what N new friends cost the triage channel.

Runs the domain in process (real Redis from :mod:`devtools.devredis` or ``REDIS_URL``, the LINE
and Slack emulators over HTTP, no web tier, parent refreshes inline) and feeds it N ``follow``
events of N different friends, then reports the Slack calls by method, the posts (the
channel's budget is about one post per second), LINE calls, the /pending total and the
processing time per follow. ``--follow thread`` measures the behaviour of ``follow = "thread"``
(the bridge's only behaviour before quiet follows).

    .venv/bin/python bench/follow_bench.py [--follows 1000] [--follow quiet|thread]
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import os
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LINE_SPECS_DIR", str(ROOT.parent / "shared" / "specs" / "line"))

from bridge.engine import work  # noqa: E402
from bridge.runtime import Runtime  # noqa: E402
from bridge.settings import Settings  # noqa: E402
from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_api import LineEmulator  # noqa: E402
from emulators.line_webhooks import WebhookFactory  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402
from emulators.slack_api import SlackEmulator  # noqa: E402

CHANNEL = "CBENCH01"
POSTING = ("chat.postMessage", "files.completeUploadExternal")



class _InlineRefreshes:
    """bridge.ports.RefreshQueue run at once (the parent refresh job, in process)."""

    domain = None

    def schedule_refresh(self, conv_id: str, delay: float) -> None:
        self.domain.portals.run_parent_refresh(conv_id)


def inline_domain(rt: Runtime):
    from bridge.domain import Domain
    from bridge.line.forward_client import ForwardClient
    from bridge.services import Services

    services = Services(rt.settings, rt.accounts, rt.store, rt.slack, rt.lines, rt.marks, rt.backlog,
                        rt.stores, crm=rt.crm)
    refreshes = _InlineRefreshes()
    refreshes.domain = Domain(services, refreshes, None, ForwardClient(), automation=rt.automation)
    return refreshes.domain

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--follows", type=int, default=1000)
    ap.add_argument("--follow", choices=("quiet", "thread"), default="quiet")
    args = ap.parse_args()
    server = None if os.environ.get("REDIS_URL") else PrivateRedis()
    line = LineEmulator(channel_access_token="bench-token", channel_secret="bench-secret")
    slack = SlackEmulator(bot_token="xoxb-bench", signing_secret="bench-signing")
    servers = [serve_in_thread(line.app), serve_in_thread(slack.app)]
    line.url, slack.url = servers[0].url, servers[1].url
    slack.add_channel(CHANNEL, "line-triage", members=["UBOT"])
    try:
        env = {"LINE_CHANNEL_SECRET": "bench-secret", "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
               "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-signing", "SLACK_TRIAGE_CHANNEL": CHANNEL,
               "REDIS_URL": os.environ.get("REDIS_URL") or server.url, "PUBLIC_BASE_URL": "http://127.0.0.1",
               "LINE_API_BASE_URL": line.url, "SLACK_API_BASE_URL": slack.url + "/api/",
               "BRIDGE_NAMESPACE": "lsbfollow" + uuid.uuid4().hex[:6], "BRIDGE_LANGUAGE": "ja",
               "LINE_FOLLOW": args.follow, "SLACK_RATE_LIMITS": "off"}
        settings = Settings.from_env(env)
        rt = Runtime(settings)
        domain = inline_domain(rt)  # parent refreshes inline, nothing queued
        hooks = WebhookFactory(line)
        friends = ["U" + hashlib.md5(f"follow-{i}".encode()).hexdigest() for i in range(args.follows)]
        for i, uid in enumerate(friends):
            line.add_user(uid, f"友だち {i}")
        took = []
        for uid in friends:
            event = hooks.follow(uid)
            t0 = time.perf_counter()
            domain.process_item({"kind": work.LINE_EVENT, "payload": {"account": "default", "event": event}})
            took.append(time.perf_counter() - t0)
        by_method = collections.Counter(c.method for c in slack.calls)
        posts = sum(n for m, n in by_method.items() if m in POSTING)
        pending = rt.backlog.query(accounts=["default"], limit=1).total
        rep = domain.automation.stats.report(["default"], 1)
        print(f"follow = {args.follow!r}: {args.follows} follows")
        print(f"  Slack calls: {sum(by_method.values())} {dict(by_method)}")
        print(f"  posts: {posts} (≈ {posts / 60:.1f} min of the channel's ~1 post/s budget)")
        print(f"  LINE calls: {len(line.requests)}   /pending entries: {pending}   /stats new friends: {rep.follows}")
        print(f"  per follow: median {statistics.median(took) * 1000:.2f} ms, max {max(took) * 1000:.1f} ms")
        rt.store.delete_namespace()
    finally:
        for s in servers:
            s.stop()
        if server:
            server.stop()


if __name__ == "__main__":
    main()
