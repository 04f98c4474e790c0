"""Operator commands: ``python -m bridge.admin <command>`` (reads the same environment as the app).

  status               queue length, backlog counts per mark, dead letters, backfills, pending streams and wake-ups
  dead-letters         list the work items that kept failing, with the reason
  replay-dead-letters  put them back on their conversation's stream (idempotent sends make this safe)
  hours                business hours (応答時間) of every account for the next 14 days
  friends export|import  友だち情報 as CSV (see bridge/friends/cli.py)
  export               chat history as CSV + JSON (see bridge/friends/cli.py)
  forget <friend>      delete one friend's personal data (number, #12 or LINE id; --yes, --slack-posts)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid

from bridge.engine import work

from bridge.runtime import get_runtime
from bridge.settings import SettingsError
from bridge.urls import redacted_redis_url, scrub_urls, shown_url


def status(rt) -> None:
    lang = rt.settings.language
    print(f"Redis {redacted_redis_url(rt.settings.redis_url)}; rq queue {rt.settings.queue_name!r}: {rt.queue.count} job(s) waiting")
    for account in rt.accounts:
        counts = rt.backlog.counts(accounts=[account.key])
        backlog = ", ".join(f"{rt.marks.effective(k).label(lang)} {n}" for k, n in counts.items() if n) or "empty"
        bot = account.bot_user_id or rt.store.bot_account_id(account.key) or "not learned yet"
        print(f"account {account.key} ({account.name}) → {account.channel}, bot {bot}: backlog {backlog}")
        for n, url in enumerate(account.forward, start=1):  # a target URL often embeds a secret: host only
            state = rt.store.forward_status(account.key, work.target_id(url))
            if not state:
                print(f"  forward #{n} → {shown_url(url)}: ok")
                continue
            since = time.time() - float(state.get("first_failure_at") or time.time())
            print(f"  forward #{n} → {shown_url(url)}: FAILING for {since:.0f} s ({state.get('failures')} failures, "
                  f"last: {state.get('last_error')}), {rt.inbox.pending(work.forward_stream(account.key, work.target_id(url)))} waiting")
    print(f"dead letters: {rt.store.dead_letter_count()}")
    shown = []
    for backfill in rt.backfills:   # one-time data backfills the workers run in the background
        p = backfill.progress()
        shown.append(f"{backfill.name} " + ("done" if p["done"] else f"{p['processed']} conversations walked, "
                                            + ("running" if p["running"] else "waiting for a worker")))
    print("backfills: " + "; ".join(shown))
    due = rt.inbox.due.pending()
    print(f"streams with pending items: {rt.redis.scard(rt.inbox.active_key)}; scheduled wake-ups: {len(due)}"
          + (f" (next in {max(0.0, due[0][1] - rt.redis.time()[0]):.0f}s)" if due else ""))


def dead_letters(rt) -> None:
    for item in rt.store.dead_letters():
        print(f"{item.get('id')}  {item.get('kind')}  stream={item.get('stream')}  reason={scrub_urls(item.get('reason'))}")


def replay(rt) -> int:
    replayed = 0
    while True:
        raw = rt.store.pop_dead_letter()
        if raw is None:
            return replayed
        item = json.loads(raw)
        try:
            rt.inbox.accept("replay", f"{item['id']}-{uuid.uuid4().hex[:8]}", item["stream"], item["kind"], item["payload"])
        except Exception:
            rt.store.return_dead_letter(raw)  # keep it: nothing is lost
            raise
        replayed += 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("friends", "export"):
        from bridge.friends.cli import main as crm_main

        try:
            return crm_main(get_runtime(), argv)
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            return 2
    if argv and argv[0] == "forget":
        from bridge.privacy.cli import main as forget_main

        try:
            return forget_main(get_runtime, argv[1:])
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            return 2
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["status", "dead-letters", "replay-dead-letters", "hours"])
    parser.add_argument("--account", help="hours: only this account")
    parser.add_argument("--days", type=int, default=14, help="hours: how many days (default 14)")
    args = parser.parse_args(argv)
    try:
        rt = get_runtime()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "status":
        status(rt)
    elif args.command == "hours":
        from bridge.automation.admin import print_hours

        return print_hours(rt, args.account, args.days)
    elif args.command == "dead-letters":
        dead_letters(rt)
    else:
        print(f"replayed {replay(rt)} item(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
