"""Configuration and health: fail fast, name the problem."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from bridge.settings import Settings, SettingsError


def test_missing_variables_are_named():
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"LINE_CHANNEL_SECRET": "s", "REDIS_URL": "redis://localhost:6379/0"})
    message = str(err.value)
    for name in ("LINE_CHANNEL_ACCESS_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_TRIAGE_CHANNEL", "PUBLIC_BASE_URL"):
        assert name in message
    assert "LINE_CHANNEL_SECRET" not in message


def test_malformed_variables_are_named(bridge_env):
    bad = {**bridge_env, "SLACK_TRIAGE_CHANNEL": "#triage", "REDIS_URL": "localhost:6379", "BRIDGE_LANGUAGE": "fr"}
    with pytest.raises(SettingsError) as err:
        Settings.from_env(bad)
    text = str(err.value)
    assert "SLACK_TRIAGE_CHANNEL" in text and "REDIS_URL" in text and "BRIDGE_LANGUAGE" in text


def test_a_bad_redis_url_is_named_without_its_password(bridge_env):
    for url in ("http://:hunter2@redis.example:6379/0", "redis+sentinel://:hunter2@s1:26379,s2:26379"):
        with pytest.raises(SettingsError) as err:
            Settings.from_env({**bridge_env, "REDIS_URL": url})
        assert "REDIS_URL" in str(err.value) and "hunter2" not in str(err.value)
    sentinel = Settings.from_env({**bridge_env, "REDIS_URL": "redis+sentinel://:pw@s1:26379,s2/lsb/3"})
    from bridge.redisconn import parse_sentinel

    parsed = parse_sentinel(sentinel.redis_url)
    assert (parsed.instances, parsed.service, parsed.db, parsed.password) == ([("s1", 26379), ("s2", 26379)], "lsb", 3, "pw")


def test_web_and_worker_refuse_to_start_without_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SLACK_", "BRIDGE_"))}
    env.pop("REDIS_URL", None)
    web = subprocess.run([sys.executable, "-c", "from handlers.app import create_app; create_app()"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert web.returncode == 2 and "LINE_CHANNEL_SECRET is not set" in web.stderr
    worker = subprocess.run([sys.executable, "-c", "from bridge.worker import BridgeWorker; BridgeWorker(['q'])"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert worker.returncode == 2 and "SLACK_BOT_TOKEN is not set" in worker.stderr


def test_healthz_reports_redis(h):
    resp = requests.get(h.url + "/healthz")
    assert resp.status_code == 200 and resp.json()["redis"] == "ok"


def test_healthz_is_503_when_redis_is_unreachable(bridge_env, slack_emu):
    from emulators.server import serve_in_thread
    from handlers.app import create_app

    settings = Settings.from_env({**bridge_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    server = serve_in_thread(create_app(settings))   # never ready: start-up waits for Redis
    try:
        assert requests.get(server.url + "/healthz").status_code == 503
    finally:
        server.stop()
