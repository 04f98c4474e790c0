"""The sandbox stack: LINE and Slack emulators in this process, the Procfile (web + worker)
through honcho against them, a fresh Redis namespace. Used by ``devtools.demo`` (the scripted
demo and ``--play``, the browser sandbox).
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devtools.sandbox.config import sandbox_config

ROOT = Path(__file__).resolve().parents[1]
LINE_SECRET = "demo-line-secret"
LINE_TOKEN = "demo-line-token"
SLACK_TOKEN = "xoxb-demo"
SLACK_SECRET = "demo-signing-secret"
TRIAGE = "CDEMOTRIAGE"
TRIAGE_NAME = "line-triage"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float = 15.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


SECOND_BOT = "U" + "e2" * 16
@dataclass
class Stack:
    """A running bridge (web + worker) wired to in-process emulators."""

    env: dict[str, str]
    line: object = None          # emulators.line_api.LineEmulator
    slack: object = None         # emulators.slack_api.SlackEmulator
    base: str = ""               # the bridge's web process
    channel: str = TRIAGE
    namespace: str = ""
    second_account: bool = False  # add 梅田店, a second LINE account sharing the triage channel
    seeded: bool = False          # --play: a config that shows the product's features (SANDBOX_CONFIG)
    language: str = "ja"          # BRIDGE_LANGUAGE: what the bridge writes in Slack and to LINE
    extra_accounts: list = field(default_factory=list)  # (key, bot user id, channel secret) of accounts beyond "default"
    _servers: list = field(default_factory=list)
    _procs: subprocess.Popen | None = None

    @property
    def line_webhook_url(self) -> str:
        return self.base + "/line/webhook"

    @property
    def slack_events_url(self) -> str:
        return self.base + "/slack/events"

    def start(self) -> bool:
        """Start emulators and the Procfile; True once the bridge answers /healthz."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulators' access log is noise here
        from emulators.line_api import LineEmulator
        from emulators.server import serve_in_thread
        from emulators.slack_api import SlackEmulator

        self.line = LineEmulator(channel_access_token=LINE_TOKEN, channel_secret=LINE_SECRET)
        self.slack = SlackEmulator(bot_token=SLACK_TOKEN, signing_secret=SLACK_SECRET)
        line_srv, slack_srv = serve_in_thread(self.line.app), serve_in_thread(self.slack.app)
        self.slack.url = slack_srv.url
        self._servers = [line_srv, slack_srv]
        port = free_port()
        self.namespace = "lsbdemo" + uuid.uuid4().hex[:6]
        self.base = f"http://127.0.0.1:{port}"
        self.env.update({
            "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_TRIAGE_CHANNEL": self.channel, "PUBLIC_BASE_URL": self.base,
            "LINE_API_BASE_URL": line_srv.url, "SLACK_API_BASE_URL": slack_srv.url + "/api/",
            "BRIDGE_NAMESPACE": self.namespace, "PORT": str(port), "WEB_CONCURRENCY": "1",
            "BRIDGE_LANGUAGE": self.language,
        })
        config = ""
        if self.second_account:
            config += self._add_second_account()
        if self.seeded:
            config += sandbox_config()
            # The page's clock: the sandbox may move "now" of this namespace (devtools.sandbox.clock).
            self.env["BRIDGE_TEST_CLOCK"] = "1"
        if config:
            path = Path(self.run_file("bridge.toml"))
            path.write_text(config, encoding="utf-8")
            self.env["BRIDGE_CONFIG"] = str(path)
        # The tests run several demos at once: each names its own log (DEMO_PROCS_LOG).
        shown = os.environ.get("DEMO_PROCS_LOG") or ".run/demo-procs.log"
        log = ROOT / shown  # (an absolute DEMO_PROCS_LOG stays what it is)
        print(f"LINE emulator  {line_srv.url}\nSlack emulator {slack_srv.url}\n"
              f"bridge         {self.base}  (web + worker from the Procfile, log: {shown})", flush=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        honcho = Path(sys.executable).parent / "honcho"
        self._procs = subprocess.Popen([str(honcho), "start", "-f", str(ROOT / "Procfile")],
                                       env=self.env, cwd=ROOT, start_new_session=True,
                                       stdout=open(log, "w"), stderr=subprocess.STDOUT)
        # A loaded machine may take a while to boot gunicorn and the worker (imports, start-up work);
        # a Procfile that exited stops the wait at once.
        up = wait(lambda: self._procs.poll() is not None or requests.get(self.base + "/healthz", timeout=5).ok,
                  timeout=120)
        return up and self._procs.poll() is None

    def run_file(self, name: str) -> str:
        """A file of this stack's own under ``.run/`` (several sandboxes may run at once)."""
        (ROOT / ".run").mkdir(exist_ok=True)
        return str(ROOT / ".run" / f"{self.namespace}-{name}")

    def _add_second_account(self) -> str:
        """梅田店: a second LINE account sharing the triage channel; its [[accounts]] config section."""
        bot, secret, token = SECOND_BOT, "demo-umeda-secret", "demo-umeda-token"
        self.line.add_channel(bot, secret, token, display_name="梅田店")
        self.line.bot_display_name = "本店"
        self.env.update({"UMEDA_LINE_SECRET": secret, "UMEDA_LINE_TOKEN": token, "LINE_ACCOUNT_NAME": "本店"})
        self.extra_accounts.append(("umeda", bot, secret))
        return f"""[[accounts]]
key = "umeda"
name = "梅田店"
channel = "{self.channel}"
secret_env = "UMEDA_LINE_SECRET"
token_env = "UMEDA_LINE_TOKEN"

"""

    def wait_procs(self) -> None:
        if self._procs is not None:
            self._procs.wait()

    def stop(self) -> None:
        if self._procs is not None:
            try:
                os.killpg(self._procs.pid, signal.SIGTERM)
                self._procs.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if self.namespace and self.env.get("REDIS_URL"):
            import redis

            from bridge.redisconn import connect

            try:
                r = connect(self.env["REDIS_URL"])
                for key in r.scan_iter(match=f"{self.namespace}:*"):
                    r.delete(key)
            except redis.ConnectionError:
                pass  # Ctrl-C in a terminal also stopped the private redis-server: nothing left to clean
        for srv in self._servers:
            srv.stop()
