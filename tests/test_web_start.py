"""The Procfile's web line with a bad configuration stops once, naming the variable."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import ROOT


def _procfile_web_line() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no web line in the Procfile")


def test_web_process_with_a_bad_env_exits_once_with_one_message(redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SLACK_", "BRIDGE_", "PROMETHEUS_"))}
    env.update(PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""), PORT="0", REDIS_URL=redis_url,
               LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t", SLACK_SIGNING_SECRET="x",
               SLACK_TRIAGE_CHANNEL="C1", PUBLIC_BASE_URL="http://127.0.0.1", SLACK_BOT_TOKEN="not-a-bot-token")
    started = time.monotonic()
    run = subprocess.run(["bash", "-c", _procfile_web_line()], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert output.count("SLACK_BOT_TOKEN must be a bot token") == 1, output
    assert "Booting worker" not in output  # stopped before any worker was started (and restarted)
    assert time.monotonic() - started < 60
