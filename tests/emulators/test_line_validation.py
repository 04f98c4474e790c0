"""Body validation of the LINE emulator in both modes: OpenAPI document and SDK models."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from emulators.line.core import LineEmulator
from emulators.line.routes import ROUTES
from emulators.line.spec import default_spec_dir
from emulators.line_webhooks import WebhookFactory, webhook_errors
from emulators.server import serve_in_thread

TOKEN = "test-line-token"
ALICE = "U" + "a1" * 16
HAS_SPEC = (default_spec_dir() / "messaging-api.yml").exists()


@pytest.fixture(scope="module", params=["openapi", "sdk-models"])
def served_module(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[LineEmulator]:
    if request.param == "openapi" and not HAS_SPEC:
        pytest.skip("LINE OpenAPI spec not available")
    spec_dir = None if request.param == "openapi" else tmp_path_factory.mktemp("no-spec")
    emu = LineEmulator(channel_access_token=TOKEN, spec_dir=spec_dir)
    assert emu.validation_mode == request.param and emu.validating
    running = serve_in_thread(emu.app)
    emu.url = running.url
    yield emu
    running.stop()


@pytest.fixture
def served(served_module: LineEmulator) -> LineEmulator:
    served_module.reset()
    served_module.add_user(ALICE, "Alice")
    return served_module


def _post(emu: LineEmulator, path: str, body: object) -> requests.Response:
    return requests.post(emu.url + path, data=json.dumps(body),
                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, timeout=5)


INVALID = [
    # (path, body, expected details)
    ("/v2/bot/message/push", {"to": 42, "messages": [{"type": "text", "text": "x"}]},
     [{"message": "must be of type string", "property": "to"}]),
    ("/v2/bot/message/push", {"messages": [{"type": "text", "text": "x"}]},
     [{"message": "must be specified", "property": "to"}]),
    ("/v2/bot/message/push", {"to": ALICE, "messages": [{"type": "hologram", "text": "x"}]},
     [{"message": "Invalid value: 'hologram'", "property": "messages[0].type"}]),
    ("/v2/bot/message/push", {"to": ALICE, "messages": [{"type": "text", "text": "x"}],
                              "notificationDisabled": "yes"},
     [{"message": "must be of type boolean", "property": "notificationDisabled"}]),
    ("/v2/bot/message/multicast", {"to": [ALICE, 7], "messages": [{"type": "text", "text": "x"}]},
     [{"message": "must be of type string", "property": "to[1]"}]),
    ("/v2/bot/message/push", {"to": ALICE, "messages": [{"type": "template", "altText": "a", "template": {
        "type": "buttons", "text": "t", "actions": [{"type": "teleport", "label": "l"}]}}]},
     [{"message": "Invalid value: 'teleport'", "property": "messages[0].template.actions[0].type"}]),
    ("/v2/bot/message/markAsRead", {"chat": {}},
     [{"message": "must be specified", "property": "chat.userId"}]),
    ("/v2/bot/chat/loading/start", {"chatId": ALICE, "loadingSeconds": "10"},
     [{"message": "must be of type integer", "property": "loadingSeconds"}]),
    ("/v2/bot/chat/loading/start", {"chatId": ALICE, "loadingSeconds": 65},
     [{"message": "must be less than or equal to 60", "property": "loadingSeconds"}]),
]


@pytest.mark.parametrize("path,body,details", INVALID, ids=[f"{p}:{i}" for i, (p, _, _) in enumerate(INVALID)])
def test_invalid_body_refused_with_line_error_shape(served: LineEmulator, path: str, body: object,
                                                    details: list[dict[str, str]]) -> None:
    resp = _post(served, path, body)
    assert resp.status_code == 400
    assert resp.json() == {"message": f"The request body has {len(details)} error(s)", "details": details}
    assert served.deliveries == [] and served.loading_animations == [] and served.marked_as_read == []


def test_valid_body_accepted(served: LineEmulator) -> None:
    resp = _post(served, "/v2/bot/message/push", {"to": ALICE, "messages": [
        {"type": "text", "text": "hi", "quickReply": {"items": [
            {"type": "action", "action": {"type": "message", "label": "ok", "text": "ok"}}]}},
        {"type": "sticker", "packageId": "446", "stickerId": "1988"}]})
    assert resp.status_code == 200, resp.text
    assert served.delivered_texts(ALICE) == ["hi"]


def test_routes_without_spec_include_unemulated_operations(tmp_path: Path) -> None:
    emu = LineEmulator(spec_dir=tmp_path)
    op, params = emu.spec.match("GET", "/v2/bot/followers/ids")
    assert op is not None and op.operation_id == "getFollowers"
    op, params = emu.spec.match("GET", f"/v2/bot/group/G1/member/{ALICE}")
    assert op.operation_id == "getGroupMemberProfile" and params == {"groupId": "G1", "userId": ALICE}


@pytest.mark.skipif(not HAS_SPEC, reason="LINE OpenAPI spec not available")
def test_builtin_route_table_matches_the_spec() -> None:
    with open(default_spec_dir() / "messaging-api.yml", "rb") as fh:
        document = yaml.safe_load(fh)
    expected = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                ref = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}) \
                    .get("schema", {}).get("$ref")
                expected[op["operationId"]] = (method, path, ref.rsplit("/", 1)[-1] if ref else None)
    assert ROUTES == expected


def test_webhook_errors_without_spec_uses_sdk_models(tmp_path: Path) -> None:
    factory = WebhookFactory(destination="U" + "0" * 32, spec_dir=tmp_path)
    good = json.loads(factory.body([factory.text(ALICE, "hi"), factory.follow(ALICE)]))
    assert webhook_errors(good, tmp_path) == []
    bad = json.loads(factory.body([factory.text(ALICE, "hi")]))
    del bad["events"][0]["message"]["text"]
    bad["events"][0]["timestamp"] = "yesterday"
    assert webhook_errors(bad, tmp_path) == [
        {"message": "must be of type integer", "property": "events[0].timestamp"},
        {"message": "must be specified", "property": "events[0].message.text"}]
    # the bundled sample events are used when the spec directory has none
    assert len(factory.sample_events()) >= 20
