"""``python -m emulators.line_api`` (or ``python -m emulators.line``): run the emulator standalone."""
from __future__ import annotations

import argparse

from emulators.line.core import LineEmulator


def main(argv: list[str] | None = None) -> None:
    """``python -m emulators.line --host 127.0.0.1 --port 9001 [--token T] [--user ID:Name]``."""
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="LINE Messaging API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--token", default="test-line-token", help="channel access token to accept")
    parser.add_argument("--secret", default="test-line-secret", help="channel secret")
    parser.add_argument("--reply-token-ttl", type=float, default=60.0)
    parser.add_argument("--spec-dir", default=None)
    parser.add_argument("--user", action="append", default=[], metavar="USER_ID:NAME",
                        help="pre-register a friend (repeatable)")
    parser.add_argument("--channel", action="append", default=[], metavar="BOT_USER_ID:SECRET:TOKEN",
                        help="register another channel / LINE Official Account (repeatable)")
    args = parser.parse_args(argv)
    emulator = LineEmulator(args.token, args.secret, args.reply_token_ttl, args.spec_dir)
    for spec in args.channel:
        bot_user_id, secret, token = spec.split(":", 2)
        emulator.add_channel(bot_user_id, secret, token)
    for spec in args.user:
        user_id, _, name = spec.partition(":")
        emulator.add_user(user_id, name or user_id)
    run_simple(args.host, args.port, emulator.app, threaded=True)
