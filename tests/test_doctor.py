"""python -m bridge.doctor against the emulators: ✓ when wired right, ✗ with what to do otherwise."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import redis

from bridge.doctor import manifest_scopes, run
from tests.conftest import ROOT, TRIAGE


def _doctor(settings, url: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    failed = run(dataclasses.replace(settings, public_base_url=url, language="en"), emit=lines.append)
    return failed, lines


def _has(lines: list[str], mark: str, fragment: str) -> bool:
    return any(line.startswith(mark) and fragment in line for line in lines)


def test_a_well_wired_deployment_passes_the_bridge_checks(h):
    h.line.set_webhook_endpoint(h.url + "/line/webhook", active=True)
    _, lines = _doctor(h.settings, h.url)
    text = "\n".join(lines)
    assert _has(lines, "✓", "Slack token: bot"), text
    assert _has(lines, "✓", "Slack scopes match the manifest"), text
    assert _has(lines, "✓", f"member of triage channel <#{TRIAGE}>"), text
    assert _has(lines, "✓", "LINE [default]: token valid"), text
    assert _has(lines, "✓", "LINE [default]: webhook URL"), text
    assert _has(lines, "✓", "LINE [default]: the test webhook arrived"), text
    assert _has(lines, "✓", "Redis reachable") and _has(lines, "✓", "noeviction"), text
    assert "test-line-token" not in text and "xoxb-test" not in text


def test_each_problem_is_a_cross_with_what_to_do(h):
    saved_scopes, saved_secret = set(h.slack.scopes), h.line.channel_secret
    r = redis.Redis.from_url(h.settings.redis_url)
    saved_policy = r.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        h.slack.scopes.discard("reactions:write")
        h.line.set_webhook_endpoint("https://old-bridge.example.com/callback", active=True)
        r.config_set("maxmemory-policy", "allkeys-lru")
        account = dataclasses.replace(h.settings.accounts[0], channel="CNOTJOINED")
        failed, lines = _doctor(dataclasses.replace(h.settings, accounts=(account,)), h.url)
        text = "\n".join(lines)
        assert failed >= 4
        assert _has(lines, "✗", "Slack scopes missing: reactions:write"), text
        assert _has(lines, "✗", "not in triage channel <#CNOTJOINED>") and "/invite" in text, text
        assert _has(lines, "✗", "webhook URL is https://old-bridge.example.com/callback"), text
        assert _has(lines, "✗", "maxmemory-policy is allkeys-lru"), text

        h.line.set_webhook_endpoint(h.url + "/line/webhook", active=False)
        _, lines = _doctor(h.settings, h.url)
        assert _has(lines, "✗", '"Use webhook" is off'), lines

        h.line.set_webhook_endpoint(h.url + "/line/webhook", active=True)
        h.line.channel_secret = "another-channel-secret"  # LINE signs with a secret the bridge doesn't have
        _, lines = _doctor(h.settings, h.url)
        assert _has(lines, "✗", "the test webhook failed: HTTP 400"), lines

        bad = dataclasses.replace(h.settings.accounts[0], token="revoked-token")
        _, lines = _doctor(dataclasses.replace(h.settings, accounts=(bad,)), h.url)
        assert _has(lines, "✗", "LINE [default]: token rejected"), lines
    finally:
        h.slack.scopes.clear()
        h.slack.scopes.update(saved_scopes)
        h.line.channel_secret = saved_secret
        r.config_set("maxmemory-policy", saved_policy)


def test_manifest_scopes_are_read_from_the_manifest():
    assert {"chat:write", "channels:history", "commands", "users:read"} <= manifest_scopes()


def test_command_line_names_a_configuration_error():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SLACK_", "BRIDGE_", "REDIS_URL"))}
    run_ = subprocess.run([sys.executable, "-m", "bridge.doctor"], env={**env, "BRIDGE_LANGUAGE": "en"}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert run_.returncode == 2
    assert run_.stdout.startswith("✗ configuration error") and "SLACK_BOT_TOKEN is not set" in run_.stdout
