"""``python -m bridge.admin friends export|import`` and ``python -m bridge.admin export``.

  friends export [--account KEY] [--out FILE]     友だち情報 as CSV (stdout by default)
  friends import FILE                             validate every row; change nothing if any is bad
  export [--conv N | --since YYYY-MM-DD --until YYYY-MM-DD] [--media] --out DIR
                                                  chat history from the archive as CSV + JSON lines
                                                  (+ its media as a zip with --media; for scheduled backups)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from bridge.friends.csvio import export_csv, import_csv
from bridge.friends.export import export_to_files, parse_day
from bridge.store.listing import workspace_url


def main(rt, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    friends = sub.add_parser("friends")
    friends.add_argument("action", choices=["export", "import"])
    friends.add_argument("file", nargs="?")
    friends.add_argument("--account", action="append")
    friends.add_argument("--out")
    export = sub.add_parser("export")
    export.add_argument("--conv", type=int)
    export.add_argument("--since")
    export.add_argument("--until")
    export.add_argument("--out", required=True)
    export.add_argument("--media", action="store_true", help="also the archived media, as a zip")
    args = parser.parse_args(argv)
    accounts = args.account if args.command == "friends" and args.account else rt.accounts.keys()
    if args.command == "friends" and args.action == "export":
        out = open(args.out, "w", encoding="utf-8-sig", newline="") if args.out else sys.stdout
        try:
            n = export_csv(rt.stores, rt.crm, out, list(accounts))
        finally:
            if args.out:
                out.close()
        print(f"exported {n} friend(s)", file=sys.stderr)
        return 0
    if args.command == "friends":
        if not args.file:
            parser.error("friends import needs a FILE")
        result = import_csv(rt.stores, rt.crm, args.file, list(accounts), lambda a: rt.accounts.require(a).channel,
                            rt.marks.resolved, lang=rt.settings.language)
        if result.errors:
            for e in result.errors:
                print(e, file=sys.stderr)
            print(f"nothing imported: {len(result.errors)} problem(s) in {result.rows} row(s)", file=sys.stderr)
            return 1
        print(f"imported {result.rows} row(s): {result.changed} changed, {result.created} new conversation(s)")
        return 0
    conv_id = None
    if args.conv is not None:
        conv = rt.store.get_by_number(args.conv)
        if conv is None:
            print(f"no conversation #{args.conv}", file=sys.stderr)
            return 1
        conv_id = conv.conv_id
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = os.path.join(args.out, f"line-history-{args.conv or 'all'}-{stamp}")
    n = export_to_files(rt.store, base + ".csv", base + ".jsonl", conv_id=conv_id,
                        since=parse_day(args.since) if args.since else None,
                        until=parse_day(args.until, end=True) if args.until else None,
                        archive_url=workspace_url(rt.store),
                        archive=rt.archive if args.media else None, zip_path=base + "-media.zip" if args.media else "")
    media = f" and {base}-media.zip" if args.media else ""
    print(f"exported {n} message(s) to {base}.csv, {base}.jsonl{media}")
    return 0
