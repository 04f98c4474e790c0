"""``python -m bridge.admin forget <friend> [--yes] [--slack-posts]``: delete one friend's personal data.

``<friend>`` is a conversation number (``12`` or ``#12``) or a LINE user (group, room) id. The
deletion is queued on the conversation's stream (see :mod:`bridge.privacy.forget`) and done by a
worker; the command waits for it (``--wait`` seconds) and prints what was deleted (counts only).
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any, Callable

from bridge.engine import work
from bridge.model import Conversation, conv_key
from bridge.privacy.forget import forget_payload


def find_friend(rt, friend: str) -> Conversation | None:
    """A conversation by number (``12``, ``#12``), LINE id (any account) or conversation id."""
    friend = friend.strip()
    number = friend.removeprefix("#")
    if number.isdigit():
        return rt.store.get_by_number(int(number))
    for account in rt.accounts:
        conv = rt.store.get_conversation(conv_key(account.key, friend))
        if conv is not None:
            return conv
    return rt.store.get_conversation(friend) if friend.isascii() and friend.replace("-", "").isalnum() else None


def main(runtime: Callable[[], Any], argv: list[str], ask: Callable[[str], str] = input) -> int:
    """``runtime()`` gives the runtime once the arguments are read (``--help`` needs no configuration)."""
    parser = argparse.ArgumentParser(prog="python -m bridge.admin forget", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("friend", help="conversation number (12 or #12) or LINE user id")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--slack-posts", action="store_true", help="also delete the bridge's own posts of the thread in Slack")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for a worker to finish (default 120)")
    parser.add_argument("--by", default="", help="who asked (kept in the audit; default: the operator's login name)")
    args = parser.parse_args(argv)
    rt = runtime()
    conv = find_friend(rt, args.friend)
    if conv is None:
        print(f"no conversation {args.friend!r}", file=sys.stderr)
        return 1
    print(f"#{conv.number} {conv.name} (account {conv.account}, {conv.source_type}) — every piece of data the bridge keeps "
          f"of this friend will be deleted{', with the bridge’s Slack posts of the thread' if args.slack_posts else ''}. "
          "This cannot be undone.")
    if not args.yes and ask("Type 'yes' to delete: ").strip().lower() != "yes":
        print("nothing deleted")
        return 1
    op_id = f"forget-cli-{uuid.uuid4().hex[:12]}"
    by = args.by or _operator()
    rt.inbox.accept("admin-forget", op_id, work.line_stream(conv.conv_id), work.FORGET,
                    forget_payload(op_id, conv.conv_id, f"cli:{by}", "cli", args.slack_posts))
    deadline = time.time() + args.wait
    while time.time() < deadline:
        done = next((e for e in reversed(rt.stores.forget.forgotten()) if e.get("op") == op_id), None)
        if done:
            print(f"deleted: {done.get('keys', 0)} key(s), {done.get('members', 0)} index/queue entries, "
                  f"{done.get('files', 0)} media file(s), {done.get('group_entries', 0)} message(s) of theirs in "
                  f"{done.get('groups', 0)} group chat(s); {done.get('anonymised', 0)} /stats record(s) kept without the friend"
                  + (f"; Slack: {done.get('posts_deleted', 0)} post(s) deleted, {done.get('posts_kept', 0)} by staff left"
                     if args.slack_posts else ""))
            return 0
        time.sleep(0.2)
    print(f"queued as {op_id}; no worker finished it within {args.wait:g} s (is a worker running?)", file=sys.stderr)
    return 3


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
