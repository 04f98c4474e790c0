"""Forwarding verified LINE webhooks to several other tools, end to end (real HTTP, rq workers).

The deployment: 東京店 forwards to three tools (Lステップ, Liny, an analytics endpoint), 大阪店
to two of them; each target URL carries a secret in its path and query, as such URLs do.
Webhook events are remembered (and accepted) for ``BRIDGE_EVENT_MAX_AGE`` = 2 hours here.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests

from emulators.forward_target import ForwardTarget, line_signature
from emulators.line_webhooks import WebhookFactory, send_webhook
from emulators.server import serve_in_thread
from tests.conftest import ROOT, STAFF, run_log, wait_until
from tests.helpers import own_deployment

SHARED = "CFWD0001"
BOTS = {"tokyo": "U" + "d4" * 16, "osaka": "U" + "e5" * 16}
FRIEND = "U" + "9" * 32
TOOLS = ("lstep", "liny", "analytics")
# The secret parts of the target URLs (unique per run, so no other output can contain them).
RUN = uuid.uuid4().hex[:10]
PATH_SECRET = {tool: f"pathsecret{tool}{RUN}" for tool in TOOLS}
QUERY_SECRET = {tool: f"querysecret{tool}{RUN}" for tool in TOOLS}
MAX_AGE = 7200


def secret(account: str) -> str:
    return f"fwd-secret-{account}"


def path(account: str, tool: str) -> str:
    return f"/{account}/{tool}/{PATH_SECRET[tool]}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, bridge_env, settings, line_emu, slack_emu):
    tools = {tool: ForwardTarget(name=tool) for tool in TOOLS}
    servers = {tool: serve_in_thread(t.app) for tool, t in tools.items()}

    def url(account: str, tool: str) -> str:
        return f"{servers[tool].url}{path(account, tool)}?key={QUERY_SECRET[tool]}"

    config = tmp_path_factory.mktemp("fwd") / "bridge.toml"
    config.write_text(f"""
[[accounts]]
key = "tokyo"
name = "東京店"
channel = "{SHARED}"
secret_env = "TOKYO_SECRET"
token_env = "TOKYO_TOKEN"
forward = ["{url('tokyo', 'lstep')}", "{url('tokyo', 'liny')}", "{url('tokyo', 'analytics')}"]

[[accounts]]
key = "osaka"
name = "大阪店"
channel = "{SHARED}"
secret_env = "OSAKA_SECRET"
token_env = "OSAKA_TOKEN"
forward = ["{url('osaka', 'lstep')}", "{url('osaka', 'liny')}"]
""", encoding="utf-8")
    env = {"BRIDGE_CONFIG": str(config), "BRIDGE_FORWARD_ALERT_AFTER": "0", "BRIDGE_EVENT_MAX_AGE": str(MAX_AGE),
           "LOG_LEVEL": "DEBUG"}
    for account in BOTS:
        env[f"{account.upper()}_SECRET"] = secret(account)
        env[f"{account.upper()}_TOKEN"] = f"fwd-token-{account}"
        line_emu.add_channel(BOTS[account], secret(account), f"fwd-token-{account}", display_name=account)
    with own_deployment(bridge_env, "fwd", drop=("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_TRIAGE_CHANNEL"),
                        **env) as fwd_deployment:
        yield {"url": fwd_deployment.url, "settings": fwd_deployment.settings, "tools": tools, "servers": servers,
               "env": fwd_deployment.env}
    for server in servers.values():
        server.stop()


@pytest.fixture()
def fwd(deployment, line_emu, slack_emu):
    import redis as redis_lib

    from bridge.keys import Keys
    from bridge.store import Store

    settings = deployment["settings"]
    store = Store(redis_lib.Redis.from_url(settings.redis_url, decode_responses=True), Keys(settings.namespace))
    store.delete_namespace()
    line_emu.reset()
    slack_emu.reset()
    for tool in deployment["tools"].values():
        tool.reset()
    slack_emu.add_channel(SHARED, "fwd-triage", members=[STAFF, "UBOT"])
    line_emu.add_user(FRIEND, "山田 花子")

    class Fwd:
        url = deployment["url"]
        tools = deployment["tools"]
        env = deployment["env"]

        def __init__(self):
            self.store = store

        def body(self, account: str, *texts: str, age: float = 0.0) -> bytes:
            hooks = WebhookFactory(line_emu, channel=BOTS[account])
            events = [hooks.text(FRIEND, text) for text in texts]
            for event in events:
                event["timestamp"] -= int(age * 1000)
            return hooks.body(events)

        def send(self, account: str, body: bytes) -> requests.Response:
            resp = send_webhook(self.url + "/line/webhook", secret(account), body)
            assert resp.status_code == 200, resp.text
            return resp

        def delivered(self, account: str, tool: str) -> list[bytes]:
            return [r.body for r in self.tools[tool].received(path(account, tool)) if r.status == 200]

        def idle(self) -> bool:
            return not any(store.r.scan_iter(match=store.keys.prefix + "inbox:*", count=1000))

    yield Fwd()
    for tool in deployment["tools"].values():
        tool.up()
    wait_until(Fwd().idle, timeout=10)


def admin(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "bridge.admin", *args], env={**os.environ, **env}, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


def test_every_target_gets_every_webhook_once_in_order_while_one_is_down_for_a_while(fwd):
    fwd.tools["liny"].down(5.0)   # Liny is down for a while: its webhooks wait, in order, then arrive
    sent: dict[str, list[bytes]] = {"tokyo": [], "osaka": []}
    for i in range(4):
        for account in ("tokyo", "osaka") if i < 3 else ("tokyo",):
            body = fwd.body(account, f"{account} {i}", *([f"{account} {i} 追伸"] if i == 1 else []))
            sent[account].append(body)
            fwd.send(account, body)
    fwd.send("tokyo", sent["tokyo"][0])   # LINE sending the very same body again: not forwarded twice
    targets = [("tokyo", tool) for tool in TOOLS] + [("osaka", "lstep"), ("osaka", "liny")]
    assert wait_until(lambda: all(len(fwd.delivered(a, t)) >= len(sent[a]) for a, t in targets), timeout=90)
    assert wait_until(fwd.idle, timeout=30)
    for account, tool in targets:
        ok = [r for r in fwd.tools[tool].received(path(account, tool)) if r.status == 200]
        assert [r.body for r in ok] == sent[account], (account, tool)   # every body, once, in order, unchanged
        assert all(r.header("X-Line-Signature") == line_signature(secret(account), r.body) for r in ok)
        assert all(r.query_string == f"key={QUERY_SECRET[tool]}" for r in ok)
    assert any(r.status == 503 for r in fwd.tools["liny"].received())   # the outage was seen and retried
    assert not fwd.tools["lstep"].received(path("osaka", "analytics"))  # 大阪店 has no analytics target


def test_events_older_than_the_dedupe_window_are_neither_processed_nor_forwarded(fwd, slack_emu):
    too_old = fwd.body("tokyo", "二時間以上前の発言", age=MAX_AGE + 600)
    resp = fwd.send("tokyo", too_old)   # answered 200: LINE must not redeliver it
    assert resp.json()["accepted"] == 0
    recent = fwd.body("tokyo", "一時間前の発言", age=3600)
    fwd.send("tokyo", recent)
    assert wait_until(lambda: all(fwd.delivered("tokyo", tool) == [recent] for tool in TOOLS), timeout=30)
    everything = lambda: json.dumps([slack_emu.messages(SHARED)]  # parents (a new chat's first message is on it)  # noqa: E731
                                    + [slack_emu.messages(SHARED, m["ts"]) for m in slack_emu.messages(SHARED)],
                                    ensure_ascii=False)
    assert wait_until(lambda: "一時間前の発言" in everything(), timeout=30)
    assert wait_until(fwd.idle, timeout=30)
    assert "二時間以上前の発言" not in everything()
    scraped = requests.get(fwd.url + "/metrics", timeout=10).text   # refused replays are counted
    assert any(line.startswith("bridge_webhook_events_total{") and 'outcome="too_old"' in line
               and float(line.rsplit(" ", 1)[1]) >= 1 for line in scraped.splitlines())
    # One setting: the events accepted are remembered for dedupe exactly as long as events are accepted.
    ttls = [fwd.store.r.ttl(k) for k in fwd.store.r.scan_iter(match=fwd.store.keys.prefix + "dedupe:*")]
    assert ttls and all(MAX_AGE - 120 < ttl <= MAX_AGE for ttl in ttls)


@pytest.fixture()
def caplog_debug(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_a_failing_target_is_shown_only_by_scheme_and_host(fwd, deployment, slack_emu, caplog_debug):
    from bridge import clock

    fwd.tools["analytics"].down()
    for name in (f"fwd-worker-{i}.log" for i in range(2)):   # this test's share of the workers' logs
        run_log(name).open("a").write(f"--- {RUN} secrets test\n")
    body = fwd.body("tokyo", "転送のテスト")
    fwd.send("tokyo", body)
    assert fwd.tools["analytics"].wait_for(1, timeout=30)   # tried, failed: retried with backoff
    # More than a day later (the test clock of every process): the next attempt gives the webhook up.
    clock.set_fake_now(fwd.store.r, fwd.store.keys.clock(), time.time() + 25 * 3600)
    try:
        shown = deployment["servers"]["analytics"].url   # http://127.0.0.1:<port>: scheme and host only
        slack_text = lambda: "\n".join(m.get("text", "") for m in slack_emu.messages(SHARED))  # noqa: E731
        # The triage channel is told the target fails, then that the webhook was set aside (dead letter).
        assert wait_until(lambda: "転送先" in slack_text() and "保留" in slack_text(), timeout=30)
        assert wait_until(lambda: all(fwd.delivered("tokyo", t) == [body] for t in ("lstep", "liny")), timeout=30)
        status = admin(fwd.env, "status")
        dead = admin(fwd.env, "dead-letters")
        metrics_text = requests.get(fwd.url + "/metrics", timeout=10).text
    finally:
        clock.set_fake_now(fwd.store.r, fwd.store.keys.clock(), None)
    assert shown in slack_text() and shown in dead and "FAILING" in status and shown in status
    plain = logging.Formatter()   # not the redacting one: what the code itself wrote, at every level
    logs = [plain.format(r) for r in caplog_debug.records
            if r.name.split(".")[0] in ("bridge", "handlers", "urllib3", "slack_sdk", "rq")]
    workers = "".join(run_log(f"fwd-worker-{i}.log").read_text().split(f"--- {RUN} secrets test\n")[-1]
                      for i in range(2))
    assert "forwarding to " + shown in workers   # the worker's warning names the target by its host
    for where, text in {"Slack": slack_text(), "admin status": status, "dead letters": dead, "metrics": metrics_text,
                        "web logs": "\n".join(logs), "worker logs": workers}.items():
        for tool in TOOLS:
            assert PATH_SECRET[tool] not in text and QUERY_SECRET[tool] not in text, where
            assert path("tokyo", tool) not in text, where
    assert "[redacted]" not in workers   # shown by host in the first place, not only masked by the log formatter
