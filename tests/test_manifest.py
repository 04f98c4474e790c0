"""The Slack manifest asks for what the bridge listens to: no more, no less."""
from __future__ import annotations

import yaml

from bridge.manifest import render


def test_manifest_matches_the_listeners(slack_emu, settings):
    from bridge.runtime import Runtime
    from handlers.slack import create_bolt_app

    manifest = yaml.safe_load(render("https://bridge.example.jp"))
    app = create_bolt_app(Runtime(settings))
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/pending", "/claim", "/assign", "/mark", "/resolve", "/stats", "/friend", "/canned", "/broadcast",
                        "/export", "/history"}
    for name in commands:  # every command in the manifest has a listener
        assert any(_matches_command(l, name) for l in app._listeners), name
    assert {s["callback_id"] for s in manifest["features"]["shortcuts"]} == {"conversation_actions", "friend_info"}
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.channels", "message.groups", "reaction_added", "reaction_removed", "app_home_opened"}
    urls = [manifest["settings"]["event_subscriptions"]["request_url"], manifest["settings"]["interactivity"]["request_url"],
            *(c["url"] for c in manifest["features"]["slash_commands"])]
    assert set(urls) == {"https://bridge.example.jp/slack/events"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "chat:write.customize", "reactions:read", "reactions:write", "channels:history", "commands"} <= scopes
    assert {"files:read", "files:write", "im:write"} <= scopes  # media both ways; /export to the requester's DM


def _matches_command(listener, name):
    from slack_bolt.request import BoltRequest

    body = f"command={name.replace('/', '%2F')}&text=&user_id=U1&channel_id=C1&team_id=T1"
    req = BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
    return all(m.matches(req, None) for m in listener.matchers)
