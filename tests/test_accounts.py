"""Several LINE accounts in one deployment, end to end (real HTTP, rq workers, emulators).

The deployment: 東京店 and 大阪店 share the triage channel CMULTI01; 名古屋店 has its own
(CMULTI02). 東京店 forwards every webhook to another LINE tool; 大阪店 lets that other tool
answer with reply tokens (``reply_token = "other"``).
"""
from __future__ import annotations

import json

import pytest
import requests

from emulators.forward_target import ForwardTarget
from emulators.line_webhooks import WebhookFactory, send_webhook
from emulators.server import serve_in_thread
from emulators.slack_events import SlackEventSender
from tests.conftest import SLACK_SECRET, STAFF, STAFF2, wait_until
from tests.helpers import own_deployment

SHARED, OWN = "CMULTI01", "CMULTI02"
BOTS = {"tokyo": "U" + "a1" * 16, "osaka": "U" + "b2" * 16, "nagoya": "U" + "c3" * 16}
FRIEND = "U" + "7" * 32       # a friend of all three accounts (same provider: same user id)
FRIEND2 = "U" + "8" * 32


def secret(account: str) -> str:
    return f"secret-{account}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, bridge_env, line_emu, slack_emu):
    target = ForwardTarget(channel_secret=secret("tokyo"))
    target_server = serve_in_thread(target.app)
    config = tmp_path_factory.mktemp("accounts") / "bridge.toml"
    config.write_text(f"""
[[accounts]]
key = "tokyo"
name = "東京店"
channel = "{SHARED}"
secret_env = "TOKYO_SECRET"
token_env = "TOKYO_TOKEN"
forward = ["{target_server.url}/lstep/webhook"]

[[accounts]]
key = "osaka"
name = "大阪店"
channel = "{SHARED}"
secret_env = "OSAKA_SECRET"
token_env = "OSAKA_TOKEN"
reply_token = "other"

[[accounts]]
key = "nagoya"
name = "名古屋店"
channel = "{OWN}"
secret_env = "NAGOYA_SECRET"
token_env = "NAGOYA_TOKEN"
bot_user_id = "{BOTS['nagoya']}"
""", encoding="utf-8")
    env = {"BRIDGE_CONFIG": str(config), "BRIDGE_FORWARD_ALERT_AFTER": "2"}
    for account in BOTS:
        env[f"{account.upper()}_SECRET"] = secret(account)
        env[f"{account.upper()}_TOKEN"] = f"token-{account}"
        line_emu.add_channel(BOTS[account], secret(account), f"token-{account}", display_name=account)
    with own_deployment(bridge_env, "multi", drop=("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_TRIAGE_CHANNEL"),
                        **env) as multi_deployment:
        yield {"url": multi_deployment.url, "settings": multi_deployment.settings, "target": target,
               "env": multi_deployment.env}
    target_server.stop()


@pytest.fixture()
def multi(deployment, line_emu, slack_emu):
    from bridge.keys import Keys
    from bridge.store import Store
    import redis as redis_lib

    store = Store(redis_lib.Redis.from_url(deployment["settings"].redis_url, decode_responses=True),
                  Keys(deployment["settings"].namespace))
    store.delete_namespace()
    line_emu.reset()
    slack_emu.reset()
    deployment["target"].reset()
    for channel in (SHARED, OWN):
        slack_emu.add_channel(channel, channel.lower(), members=[STAFF, "UBOT"])
    slack_emu.add_channel("CELSEWHERE", "random", members=[STAFF, STAFF2])
    slack_emu.add_user(STAFF, "sato", real_name="佐藤 一郎", display_name="佐藤")
    slack_emu.add_user(STAFF2, "suzuki", real_name="Suzuki Hanako", display_name="suzuki")
    line_emu.add_user(FRIEND, "山田 花子")
    line_emu.add_user(FRIEND2, "田中 太郎")

    class Multi:
        url = deployment["url"]
        target = deployment["target"]
        env = deployment["env"]
        slack = SlackEventSender(deployment["url"] + "/slack/events", slack_emu, signing_secret=SLACK_SECRET)

        def __init__(self):
            self.store = store

        def says(self, account: str, user: str, text: str, path: str = "/line/webhook") -> requests.Response:
            hooks = WebhookFactory(line_emu, channel=BOTS[account])
            return hooks.send(self.url + path, [hooks.text(user, text)])

        def conv(self, account: str, user: str):
            return store.get_conversation(f"{account}-{user}")

        def thread(self, account: str, user: str) -> str:
            assert wait_until(lambda: (c := self.conv(account, user)) is not None and c.thread_ts, 15)
            return self.conv(account, user).thread_ts

    yield Multi()
    # Let in-flight work settle so it cannot leak into the next test.
    queues = [f"rq:queue:{deployment['settings'].queue_name}", f"rq:queue:{deployment['settings'].low_queue_name}"]
    wait_until(lambda: not any(store.r.scan_iter(match=store.keys.prefix + "inbox:*", count=1000))
               and not any(store.r.llen(q) for q in queues), timeout=10)


def admin_status(env: dict[str, str]) -> str:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run([sys.executable, "-m", "bridge.admin", "status"], env={**os.environ, **env}, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


def parent_text(slack_emu, channel: str, ts: str) -> str:
    message = next(m for m in slack_emu.messages(channel) if m["ts"] == ts)
    return message["text"] + json.dumps(message.get("blocks"), ensure_ascii=False)


def test_each_account_gets_threads_in_its_own_channel_and_shared_channels_name_the_account(multi, slack_emu):
    for account in ("tokyo", "osaka", "nagoya"):
        assert multi.says(account, FRIEND, f"{account}さん、こんにちは").status_code == 200
    threads = {a: multi.thread(a, FRIEND) for a in BOTS}
    assert len(set(threads.values())) == 3        # the same friend of three accounts: three conversations
    assert "東京店" in parent_text(slack_emu, SHARED, threads["tokyo"])
    assert "大阪店" in parent_text(slack_emu, SHARED, threads["osaka"])
    assert "名古屋店" not in parent_text(slack_emu, OWN, threads["nagoya"])  # alone in its channel
    assert sorted(multi.conv(a, FRIEND).number for a in BOTS) == [1, 2, 3]  # unique per deployment
    # A new conversation costs one post: the friend's first message is on its parent, not in the thread.
    assert wait_until(lambda: "nagoyaさん、こんにちは" in parent_text(slack_emu, OWN, threads["nagoya"]))
    assert [m["text"] for m in slack_emu.messages(OWN, threads["nagoya"])] == []


def test_staff_replies_go_out_through_the_conversations_own_account(multi, slack_emu, line_emu):
    multi.says("nagoya", FRIEND, "予約できますか")
    multi.says("tokyo", FRIEND, "営業時間は？")
    nagoya, tokyo = multi.thread("nagoya", FRIEND), multi.thread("tokyo", FRIEND)
    multi.slack.user_message(OWN, STAFF, "はい、できます", thread_ts=nagoya)
    multi.slack.user_message(SHARED, STAFF, "10時からです", thread_ts=tokyo)
    assert line_emu.wait_for(lambda e: len(e.delivered_texts(FRIEND)) == 2, timeout=15)
    assert line_emu.delivered_texts(FRIEND, channel=BOTS["nagoya"]) == ["はい、できます"]
    assert line_emu.delivered_texts(FRIEND, channel=BOTS["tokyo"]) == ["10時からです"]


def test_an_account_whose_reply_tokens_belong_to_another_tool_always_pushes(multi, line_emu):
    multi.says("osaka", FRIEND, "在庫ありますか")
    thread = multi.thread("osaka", FRIEND)
    multi.slack.user_message(SHARED, STAFF, "ございます", thread_ts=thread)
    assert line_emu.wait_for(lambda e: "ございます" in e.delivered_texts(FRIEND), timeout=15)
    assert [d.via for d in line_emu.deliveries_for(BOTS["osaka"])] == ["push"]
    assert not line_emu.requests_for("replyMessage")


def test_webhooks_are_routed_by_signature_and_destination_and_strangers_are_refused(multi, line_emu):
    assert multi.says("nagoya", FRIEND2, "パスで", path="/line/webhook/nagoya").status_code == 200
    multi.thread("nagoya", FRIEND2)
    # Signed by Tokyo but sent to Nagoya's URL, or claiming Osaka's bot as destination: refused.
    assert multi.says("tokyo", FRIEND2, "x", path="/line/webhook/nagoya").status_code == 400
    multi.says("tokyo", FRIEND2, "learn tokyo's bot")      # Tokyo's bot id is learned from its first webhook
    multi.thread("tokyo", FRIEND2)
    hooks = WebhookFactory(line_emu, channel=BOTS["tokyo"], destination=BOTS["osaka"])
    assert hooks.send(multi.url + "/line/webhook", [hooks.text(FRIEND2, "偽物")]).status_code == 400
    assert multi.says("tokyo", FRIEND2, "x", path="/line/webhook/nowhere").status_code == 404
    body = WebhookFactory(line_emu, channel=BOTS["tokyo"]).body([])
    assert send_webhook(multi.url + "/line/webhook", "not-any-secret", body).status_code == 400
    assert multi.conv("osaka", FRIEND2) is None


def test_pending_shows_the_channels_accounts_there_and_every_visible_account_elsewhere(multi):
    for account in BOTS:
        multi.says(account, FRIEND, f"{account} 質問")
        multi.thread(account, FRIEND)
    assert wait_until(lambda: all(multi.conv(a, FRIEND).last_message_preview for a in BOTS))

    def pending(channel: str, text: str = "", user: str = STAFF) -> str:
        return json.dumps(multi.slack.command("/pending", text, user_id=user, channel_id=channel).json(), ensure_ascii=False)

    numbers = {a: f"#{multi.conv(a, FRIEND).number}" for a in BOTS}
    shared = pending(SHARED)
    assert numbers["tokyo"] in shared and numbers["osaka"] in shared and numbers["nagoya"] not in shared
    own = pending(OWN)
    assert numbers["nagoya"] in own and numbers["tokyo"] not in own
    elsewhere = pending("CELSEWHERE")
    assert all(n in elsewhere for n in numbers.values())
    only = pending("CELSEWHERE", "account:nagoya")
    assert numbers["nagoya"] in only and numbers["tokyo"] not in only
    assert "STAFF2" not in pending("CELSEWHERE", user=STAFF2) and numbers["tokyo"] not in pending("CELSEWHERE", user=STAFF2)


def test_verified_webhooks_are_forwarded_unchanged_in_order_despite_an_outage(multi, slack_emu, line_emu):
    target = multi.target
    target.down(6.0)   # the other tool is down for a while: retried with backoff, then in order
    sent = []
    for i in range(4):
        hooks = WebhookFactory(line_emu, channel=BOTS["tokyo"])
        body = hooks.body([hooks.text(FRIEND, f"転送 {i}")])
        sent.append(body)
        assert send_webhook(multi.url + "/line/webhook", secret("tokyo"), body).status_code == 200
    multi.thread("tokyo", FRIEND)   # our own processing is not held up by the outage
    # Operators see the failing target (python -m bridge.admin status).
    assert wait_until(lambda: "FAILING" in admin_status(multi.env), timeout=10)
    delivered = lambda: [r for r in target.received("/lstep/webhook") if r.status == 200]  # noqa: E731
    assert wait_until(lambda: len(delivered()) >= 4, timeout=60)
    ok = delivered()
    assert any(r.status == 503 for r in target.received("/lstep/webhook"))  # the outage was seen and retried
    assert [r.body for r in ok] == sent                         # raw bytes, in order, once each
    assert all(r.signature_valid for r in ok)                   # LINE's signature still verifies
    assert all(r.header("User-Agent") for r in ok)
    # It failed for longer than BRIDGE_FORWARD_ALERT_AFTER (2 s here): one line, then one when it recovered.
    assert wait_until(lambda: len([m for m in slack_emu.messages(SHARED) if "復旧" in m["text"]]) == 1, timeout=15)
    lines = [m["text"] for m in slack_emu.messages(SHARED) if "転送先" in m["text"]]
    assert len(lines) == 2 and "失敗" in lines[0] and "復旧" in lines[1]
    assert not any("/lstep/webhook" in line for line in lines)   # a target's path may embed its secret



def test_bot_user_ids_are_learned_from_line_unless_configured(multi, deployment, line_emu):
    from bridge.runtime import Runtime

    Runtime(deployment["settings"]).learn_bots()   # what every worker does at start (GET /v2/bot/info)
    assert multi.store.bot_account_id("tokyo") == BOTS["tokyo"]
    assert multi.store.bot_account_id("osaka") == BOTS["osaka"]
    assert multi.store.bot_account_id("nagoya") == ""   # configured in the file: nothing to learn
    hooks = WebhookFactory(line_emu, channel=BOTS["osaka"], destination=BOTS["tokyo"])
    assert hooks.send(multi.url + "/line/webhook", [hooks.text(FRIEND, "x")]).status_code == 400

