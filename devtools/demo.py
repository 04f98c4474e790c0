"""``python -m devtools.demo`` (via ``scripts/demo``): run the bridge, or a sandbox of it.

* With LINE and Slack credentials in the environment: runs the Procfile (web + worker)
  against the real platforms.
* Without them: starts the bundled LINE and Slack emulators, runs the same Procfile
  against them, plays a short conversation (a friend writes, staff reply, an internal
  note) and prints what each side saw.
A private ``redis-server`` is started when ``REDIS_URL`` is unset.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_TRIAGE_CHANNEL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _honcho(env: dict[str, str]) -> subprocess.Popen:
    honcho = Path(sys.executable).parent / "honcho"
    return subprocess.Popen([str(honcho), "start", "-f", str(ROOT / "Procfile")],
                            env=env, cwd=ROOT, start_new_session=True,
                            stdout=open(ROOT / ".run" / "demo-procs.log", "w"), stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float = 15.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def run_real(env: dict[str, str]) -> int:
    missing = [v for v in ("PUBLIC_BASE_URL",) if not env.get(v)]
    if missing:
        print(f"set {', '.join(missing)} to run against the real LINE and Slack", file=sys.stderr)
        return 2
    honcho = Path(sys.executable).parent / "honcho"
    return subprocess.call([str(honcho), "start", "-f", str(ROOT / "Procfile")], env=env, cwd=ROOT)


SECOND_BOT = "U" + "e2" * 16


def _add_second_account(line, env: dict[str, str]) -> str:
    """A second LINE account (梅田店) sharing the triage channel: configured with [[accounts]]."""
    line.add_channel(SECOND_BOT, "demo-umeda-secret", "demo-umeda-token", display_name="梅田店")
    config = ROOT / ".run" / "demo-accounts.toml"
    config.write_text(f"""[[accounts]]
key = "umeda"
name = "梅田店"
channel = "{env['SLACK_TRIAGE_CHANNEL']}"
secret_env = "UMEDA_LINE_SECRET"
token_env = "UMEDA_LINE_TOKEN"
""", encoding="utf-8")
    env.update({"BRIDGE_CONFIG": str(config), "UMEDA_LINE_SECRET": "demo-umeda-secret",
                "UMEDA_LINE_TOKEN": "demo-umeda-token", "LINE_ACCOUNT_NAME": "本店"})
    return SECOND_BOT


def _play_second_account(line, slack, base: str, channel: str) -> None:
    from emulators.line_webhooks import WebhookFactory

    friend = "U" + "f" * 32
    line.add_user(friend, "梅田 次郎")
    print("\n④ A friend of the second LINE account (梅田店) writes: 「駐車場はありますか？」")
    hooks = WebhookFactory(line, channel=SECOND_BOT)
    hooks.send(base + "/line/webhook", [hooks.text(friend, "駐車場はありますか？")])
    _wait(lambda: len(slack.messages(channel)) >= 2)
    for parent in slack.messages(channel):
        print(f"   Slack parent : {parent['text']}")


def run_sandbox(env: dict[str, str], keep_running: bool, second_account: bool = False) -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulators' access log is noise here
    from emulators.line_api import LineEmulator
    from emulators.line_webhooks import WebhookFactory, send_webhook
    from emulators.server import serve_in_thread
    from emulators.slack_api import SlackEmulator
    from emulators.slack_events import SlackEventSender

    line = LineEmulator(channel_access_token="demo-line-token", channel_secret="demo-line-secret")
    slack = SlackEmulator(bot_token="xoxb-demo", signing_secret="demo-signing-secret")
    line_srv, slack_srv = serve_in_thread(line.app), serve_in_thread(slack.app)
    channel, staff, friend = "CDEMOTRIAGE", "UDEMOSTAFF", "U" + "d" * 32
    slack.add_channel(channel, "line-triage", members=[staff, "UBOT"])
    slack.add_user(staff, "sato", real_name="佐藤 一郎", display_name="佐藤")
    line.add_user(friend, "山田 花子", picture_url="https://profile.line-scdn.net/demo-hanako")
    port = _free_port()
    namespace = "lsbdemo" + uuid.uuid4().hex[:6]
    env.update({
        "LINE_CHANNEL_SECRET": "demo-line-secret", "LINE_CHANNEL_ACCESS_TOKEN": "demo-line-token",
        "SLACK_BOT_TOKEN": "xoxb-demo", "SLACK_SIGNING_SECRET": "demo-signing-secret",
        "SLACK_TRIAGE_CHANNEL": channel, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LINE_API_BASE_URL": line_srv.url, "SLACK_API_BASE_URL": slack_srv.url + "/api/",
        "BRIDGE_NAMESPACE": namespace, "PORT": str(port), "WEB_CONCURRENCY": "1",
    })
    if second_account:
        _add_second_account(line, env)
    print(f"LINE emulator  {line_srv.url}\nSlack emulator {slack_srv.url}\nbridge         http://127.0.0.1:{port}  (web + worker from the Procfile, log: .run/demo-procs.log)")
    procs = _honcho(env)
    base = f"http://127.0.0.1:{port}"
    try:
        if not _wait(lambda: requests.get(base + "/healthz", timeout=1).ok, timeout=30):
            print("the bridge did not become healthy; see .run/demo-procs.log", file=sys.stderr)
            return 1
        hooks = WebhookFactory(line)
        sender = SlackEventSender(base + "/slack/events", slack, signing_secret="demo-signing-secret")

        print("\n① LINE friend 山田 花子 writes: 「明日の予約を15時に変更できますか？」")
        send_webhook(base + "/line/webhook", "demo-line-secret", hooks.body([hooks.text(friend, "明日の予約を15時に変更できますか？")]))
        if not _wait(lambda: slack.messages(channel) and slack.messages(channel, slack.messages(channel)[0]["ts"])):
            print("nothing reached Slack; see .run/demo-procs.log", file=sys.stderr)
            return 1
        parent = slack.messages(channel)[0]
        thread = parent["ts"]
        print(f"   Slack #{'line-triage'} parent : {parent['text']}")
        for m in slack.messages(channel, thread):
            print(f"   Slack thread reply   : [{m.get('username')}] {m['text']}")

        print("\n② Staff 佐藤 replies in the thread: 「承知しました！ *15時* でお取りしますね :smile:」")
        reply, _ = sender.user_message(channel, staff, "承知しました！ *15時* でお取りしますね :smile:", thread_ts=thread)
        _wait(lambda: line.deliveries)
        for d in line.deliveries:
            print(f"   LINE received ({d.via}) : {' / '.join(m.get('text', '') for m in d.messages)}")
        _wait(lambda: slack.reactions(channel, reply["ts"]))
        print(f"   Slack reactions on the reply: {', '.join(slack.reactions(channel, reply['ts']))}")

        print("\n③ Staff writes an internal note: 「// 常連さん。前回もこの時間」")
        note, _ = sender.user_message(channel, staff, "// 常連さん。前回もこの時間", thread_ts=thread)
        _wait(lambda: slack.reactions(channel, note["ts"]))
        time.sleep(0.5)
        print(f"   LINE deliveries so far: {len(line.deliveries)} (the note was not sent)")
        print(f"   Slack reactions on the note: {', '.join(slack.reactions(channel, note['ts']))}")
        if second_account:
            _play_second_account(line, slack, base, channel)
        print("\nDemo finished: LINE → Slack thread, Slack thread → LINE, internal note kept internal.")
        if keep_running:
            print("Bridge still running (Ctrl-C to stop).")
            procs.wait()
        return 0
    finally:
        try:
            os.killpg(procs.pid, signal.SIGTERM)
            procs.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        import redis as redis_lib

        r = redis_lib.Redis.from_url(env["REDIS_URL"])
        for key in r.scan_iter(match=f"{namespace}:*"):
            r.delete(key)
        line_srv.stop()
        slack_srv.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-running", action="store_true", help="keep the sandbox bridge running after the demo")
    parser.add_argument("--second-account", action="store_true",
                        help="sandbox: add a second LINE account (梅田店) sharing the triage channel")
    args = parser.parse_args(argv)
    (ROOT / ".run").mkdir(exist_ok=True)
    env = dict(os.environ)
    # The Procfile's commands (gunicorn, rq) live next to this interpreter.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    private = None
    if not env.get("REDIS_URL"):
        from devtools.devredis import PrivateRedis

        private = PrivateRedis()
        env["REDIS_URL"] = private.url
        print(f"REDIS_URL unset: started a private redis-server at {private.url}")
    try:
        if all(env.get(v) for v in CREDENTIALS):
            return run_real(env)
        return run_sandbox(env, args.keep_running, args.second_account)
    finally:
        if private:
            private.stop()


if __name__ == "__main__":
    raise SystemExit(main())
