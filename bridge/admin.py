"""Operator commands: ``python -m bridge.admin <command>`` (reads the same environment as the app).

  status               queue length, backlog counts per mark, dead letters
  dead-letters         list the work items that kept failing, with the reason
  replay-dead-letters  put them back on their conversation's stream (idempotent sends make this safe)
  friends export|import  友だち情報 as CSV (see bridge/friends/cli.py)
  export               chat history as CSV + JSON (see bridge/friends/cli.py)
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid

from bridge.runtime import get_runtime
from bridge.settings import SettingsError


def status(rt) -> None:
    counts = rt.backlog.counts()
    print(f"rq queue {rt.settings.queue_name!r}: {rt.queue.count} job(s) waiting")
    print("backlog: " + (", ".join(f"{rt.marks.effective(k).label(rt.settings.language)} {n}" for k, n in counts.items() if n) or "empty"))
    print(f"dead letters: {rt.redis.llen(rt.keys.dead_letters())}")


def dead_letters(rt) -> None:
    for raw in rt.redis.lrange(rt.keys.dead_letters(), 0, -1):
        item = json.loads(raw)
        print(f"{item.get('id')}  {item.get('kind')}  stream={item.get('stream')}  reason={item.get('reason')}")


def replay(rt) -> int:
    replayed = 0
    key = rt.keys.dead_letters()
    while True:
        raw = rt.redis.lpop(key)
        if raw is None:
            return replayed
        item = json.loads(raw)
        try:
            rt.inbox.accept("replay", f"{item['id']}-{uuid.uuid4().hex[:8]}", item["stream"], item["kind"], item["payload"])
        except Exception:
            rt.redis.lpush(key, raw)  # keep it: nothing is lost
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["status", "dead-letters", "replay-dead-letters"])
    args = parser.parse_args(argv)
    try:
        rt = get_runtime()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "status":
        status(rt)
    elif args.command == "dead-letters":
        dead_letters(rt)
    else:
        print(f"replayed {replay(rt)} item(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
