"""``python -m emulators.slack_api`` / ``python -m emulators.slack``."""
from __future__ import annotations

import argparse

from emulators.slack.core import SlackEmulator


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """``python -m emulators.slack_api --host 127.0.0.1 --port 9002`` (serves until interrupted)."""
    parser = argparse.ArgumentParser(description="Local Slack Web API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--bot-token", default="xoxb-test")
    parser.add_argument("--signing-secret", default="test-signing-secret")
    parser.add_argument("--team-id", default="T0TEST")
    parser.add_argument("--bot-user-id", default="UBOT")
    parser.add_argument("--bot-id", default="BBOT")
    parser.add_argument("--channel", action="append", default=[], metavar="ID:NAME",
                        help="pre-create a channel (repeatable)")
    parser.add_argument("--rate-limits", action="store_true",
                        help="enforce Slack-like rate limits (chat.postMessage 1/s per channel, burst 5; "
                             "chat.update and reactions.* 50/min, burst 10)")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    opts = parser.parse_args(argv)
    emu = SlackEmulator(bot_token=opts.bot_token, signing_secret=opts.signing_secret, team_id=opts.team_id,
                        bot_user_id=opts.bot_user_id, bot_id=opts.bot_id)
    emu.url = f"http://{opts.host}:{opts.port}"
    for spec in opts.channel:
        cid, _, name = spec.partition(":")
        emu.add_channel(cid, name or cid.lower())
    if opts.rate_limits:
        emu.set_rate_limits()
    import logging

    from werkzeug.serving import make_server

    if opts.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(opts.host, opts.port, emu.app, threaded=True)
    print(f"Slack emulator on {emu.url}/api/ (token {opts.bot_token})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

