"""``python -m devtools.demo`` (via ``scripts/demo``): run the bridge, or a sandbox of it.

* With LINE and Slack credentials in the environment: runs the Procfile (web + worker)
  against the real platforms.
* Without them: starts the bundled LINE and Slack emulators, runs the same Procfile
  against them, plays a short conversation (a friend writes, staff reply, an internal
  note) and prints what each side saw.
* ``--play``: the same sandbox, but instead of the script a local page shows LINE as a
  friend sees it and the Slack triage channel as staff see it (``devtools.sandbox``).
A private ``redis-server`` is started when ``REDIS_URL`` is unset.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devtools.stack import ROOT, SECOND_BOT, SLACK_SECRET, TRIAGE_NAME, Stack, wait

CREDENTIALS = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_TRIAGE_CHANNEL")


def run_real(env: dict[str, str]) -> int:
    missing = [v for v in ("PUBLIC_BASE_URL",) if not env.get(v)]
    if missing:
        print(f"set {', '.join(missing)} to run against the real LINE and Slack", file=sys.stderr)
        return 2
    honcho = Path(sys.executable).parent / "honcho"
    return subprocess.call([str(honcho), "start", "-f", str(ROOT / "Procfile")], env=env, cwd=ROOT)


def play_script(stack: Stack) -> int:
    from emulators.line_webhooks import WebhookFactory, send_webhook
    from emulators.slack_events import SlackEventSender

    line, slack, channel = stack.line, stack.slack, stack.channel
    staff, friend = "UDEMOSTAFF", "U" + "d" * 32
    slack.add_channel(channel, TRIAGE_NAME, members=[staff, "UBOT"])
    slack.add_user(staff, "sato", real_name="佐藤 一郎", display_name="佐藤")
    line.add_user(friend, "山田 花子", picture_url="https://profile.line-scdn.net/demo-hanako")
    hooks = WebhookFactory(line)
    sender = SlackEventSender(stack.slack_events_url, slack, signing_secret=SLACK_SECRET)

    print("\n① LINE friend 山田 花子 writes: 「明日の予約を15時に変更できますか？」")
    send_webhook(stack.line_webhook_url, line.channel_secret, hooks.body([hooks.text(friend, "明日の予約を15時に変更できますか？")]))
    # A new conversation costs one post: its thread parent carries the friend's first message.
    if not wait(lambda: any("15時" in (m.get("text") or "") for m in slack.messages(channel))):
        print("nothing reached Slack; see .run/demo-procs.log", file=sys.stderr)
        return 1
    parent = slack.messages(channel)[0]
    thread = parent["ts"]
    from bridge.relay.batch import texts_of_post

    print(f"   Slack #{TRIAGE_NAME} parent : {parent['text'].splitlines()[0]}")
    blocks = parent.get("blocks") or []
    first = texts_of_post(blocks[1]["text"]["text"]) if len(blocks) > 1 and blocks[1].get("type") == "section" else []
    for text in first:  # a new conversation costs one post: the parent carries the first message
        print(f"   Slack parent message : {text}")
    for m in slack.messages(channel, thread):
        print(f"   Slack thread reply   : [{m.get('username')}] {m['text']}")

    print("\n② Staff 佐藤 replies in the thread: 「承知しました！ *15時* でお取りしますね :smile:」")
    reply, _ = sender.user_message(channel, staff, "承知しました！ *15時* でお取りしますね :smile:", thread_ts=thread)
    delay = float(stack.env.get("BRIDGE_SEND_DELAY_SECONDS") or 10)
    print(f"   waiting for the {delay:g} s undo window (⏳ on the reply): in Slack, editing the reply within it"
          " changes what LINE gets, deleting it cancels the send …", flush=True)
    wait(lambda: line.deliveries, timeout=delay + 15)
    for d in line.deliveries:
        print(f"   LINE received ({d.via}) : {' / '.join(m.get('text', '') for m in d.messages)}")
    wait(lambda: set(slack.reactions(channel, reply["ts"])) & {"free", "1234", "x"})  # 🆓/🔢 follow at Slack's pace
    print(f"   Slack reactions on the reply: {', '.join(slack.reactions(channel, reply['ts']))}")

    print("\n③ Staff writes an internal note: 「// 常連さん。前回もこの時間」")
    note, _ = sender.user_message(channel, staff, "// 常連さん。前回もこの時間", thread_ts=thread)
    wait(lambda: slack.reactions(channel, note["ts"]))
    time.sleep(0.5)
    print(f"   LINE deliveries so far: {len(line.deliveries)} (the note was not sent)")
    print(f"   Slack reactions on the note: {', '.join(slack.reactions(channel, note['ts']))}")
    if stack.second_account:
        play_second_account(stack)
    print("\nDemo finished: LINE → Slack thread, Slack thread → LINE, internal note kept internal.")
    return 0


def play_second_account(stack: Stack) -> None:
    from emulators.line_webhooks import WebhookFactory

    friend = "U" + "f" * 32
    stack.line.add_user(friend, "梅田 次郎")
    print("\n④ A friend of the second LINE account (梅田店) writes: 「駐車場はありますか？」")
    hooks = WebhookFactory(stack.line, channel=SECOND_BOT)
    hooks.send(stack.line_webhook_url, [hooks.text(friend, "駐車場はありますか？")])
    wait(lambda: len(stack.slack.messages(stack.channel)) >= 2)
    wait(lambda: "本店" in stack.slack.messages(stack.channel)[0]["text"])   # the first parent now names its account
    for parent in stack.slack.messages(stack.channel):
        print(f"   Slack parent : {parent['text']}")


def run_sandbox(env: dict[str, str], args: argparse.Namespace) -> int:
    stack = Stack(env, second_account=args.second_account, seeded=args.play, language=args.lang)
    try:
        if not stack.start():
            print("the bridge did not become healthy; see .run/demo-procs.log", file=sys.stderr)
            return 1
        if args.play:
            from devtools.sandbox import serve

            return serve(stack, host=args.host, port=args.port, lang=args.lang)
        code = play_script(stack)
        if code == 0 and args.keep_running:
            print("Bridge still running (Ctrl-C to stop).")
            stack.wait_procs()
        return code
    finally:
        stack.stop()


def _terminate(signum, frame):  # SIGTERM: clean up like Ctrl-C (honcho, Redis keys, emulators)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-running", action="store_true", help="keep the sandbox bridge running after the demo")
    parser.add_argument("--second-account", action="store_true",
                        help="sandbox: add a second LINE account (梅田店) sharing the triage channel")
    parser.add_argument("--play", action="store_true",
                        help="instead of the scripted demo, serve a local page: LINE (as a friend) and Slack (as staff)")
    parser.add_argument("--host", default="127.0.0.1", help="--play: address of the page (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="--play: port of the page (default 8765; 0 = any free port)")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja",
                        help="sandbox: the language of the bridge (BRIDGE_LANGUAGE) and of the page (default ja)")
    args = parser.parse_args(argv)
    (ROOT / ".run").mkdir(exist_ok=True)
    env = dict(os.environ)
    # The Procfile's commands (gunicorn, rq) live next to this interpreter.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    signal.signal(signal.SIGTERM, _terminate)
    private = None
    if not env.get("REDIS_URL"):
        from devtools.devredis import PrivateRedis

        private = PrivateRedis()
        env["REDIS_URL"] = private.url
        print(f"REDIS_URL unset: started a private redis-server at {private.url}")
    try:
        if all(env.get(v) for v in CREDENTIALS) and not args.play:
            return run_real(env)
        return run_sandbox(env, args)
    except KeyboardInterrupt:
        return 0
    finally:
        if private:
            private.stop()


if __name__ == "__main__":
    raise SystemExit(main())
