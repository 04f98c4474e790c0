"""Files in the Slack emulator: the files_upload_v2 flow through the real slack_sdk.WebClient,
url_private downloads, thumbnails, files.delete, and file_share message events."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import requests
from flask import Flask, request
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.server import RunningServer, serve_in_thread
from emulators.slack_api import SlackEmulator
from emulators.slack_events import SlackEventSender

CHANNEL = "C0SUPPORT"
STAFF = "U0STAFF"
PNG = b"\x89PNG\r\n\x1a\n" + b"fake image bytes" * 8


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[tuple[SlackEmulator, RunningServer]]:
    emu = SlackEmulator()
    server = serve_in_thread(emu.app)
    emu.url = server.url
    yield emu, server
    server.stop()


@pytest.fixture()
def emu(emulator_server: tuple[SlackEmulator, RunningServer]) -> SlackEmulator:
    emulator, _server = emulator_server
    emulator.reset()
    emulator.add_user(STAFF, "hanako", real_name="Hanako Staff")
    emulator.add_channel(CHANNEL, "support", members=[STAFF])
    return emulator


@pytest.fixture()
def client(emu: SlackEmulator) -> WebClient:
    assert emu.url
    return WebClient(token=emu.bot_token, base_url=emu.url + "/api/", timeout=5)


class _EventSink:
    """Records the JSON bodies POSTed to it (the sender posts synchronously, so no waiting)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        app = Flask("event-sink")

        @app.route("/slack/events", methods=["POST"])
        def events() -> str:
            self.bodies.append(json.loads(request.get_data()))
            return ""

        self.server = serve_in_thread(app)
        self.url = self.server.url + "/slack/events"


@pytest.fixture()
def sink() -> Iterator[_EventSink]:
    s = _EventSink()
    yield s
    s.server.stop()


def _get(url: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, headers=headers, timeout=5)


def test_upload_v2_records_file_and_serves_it(client: WebClient, emu: SlackEmulator) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="ticket")
    r = client.files_upload_v2(channel=CHANNEL, thread_ts=root["ts"], content=PNG, filename="photo.png",
                               title="Customer photo", initial_comment="photo from LINE")
    file_id = r["file"]["id"]
    info = client.files_info(file=file_id)["file"]
    assert (info["name"], info["title"], info["mimetype"], info["size"]) == \
        ("photo.png", "Customer photo", "image/png", len(PNG))
    assert emu.file_content(file_id) == PNG and emu.file_info(file_id)["size"] == len(PNG)
    assert info["channels"] == [CHANNEL]
    share = info["shares"]["public"][CHANNEL][0]
    assert share["thread_ts"] == root["ts"] and share["share_user_id"] == "UBOT"
    [reply] = emu.messages(CHANNEL, root["ts"])
    assert reply["text"] == "photo from LINE" and reply["files"][0]["id"] == file_id
    assert share["ts"] == reply["ts"]

    for key in ("url_private", "url_private_download", "thumb_360", "thumb_720"):
        assert info[key].startswith(emu.url), key
        got = _get(info[key], emu.bot_token)
        assert got.status_code == 200 and got.content == PNG, key
        assert got.headers["Content-Type"] == "image/png"
    assert "attachment" in _get(info["url_private_download"], emu.bot_token).headers["Content-Disposition"]
    assert _get(info["url_private"], None).status_code == 401
    assert _get(info["url_private"], "xoxb-someone-else").status_code == 403


def test_non_image_has_no_thumbnails(client: WebClient, emu: SlackEmulator) -> None:
    r = client.files_upload_v2(channel=CHANNEL, content="hello\n", filename="notes.txt")
    info = client.files_info(file=r["file"]["id"])["file"]
    assert info["mimetype"] == "text/plain" and info["title"] == "notes.txt"
    assert not any(k.startswith("thumb_") for k in info)
    [msg] = emu.messages(CHANNEL)
    assert msg["text"] == "" and msg["upload"] is True


def test_files_delete_tombstones_the_share(client: WebClient, emu: SlackEmulator) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="ticket")
    file_id = client.files_upload_v2(channel=CHANNEL, thread_ts=root["ts"], content=PNG, filename="a.png",
                                     initial_comment="see")["file"]["id"]
    url = emu.file_info(file_id)["url_private"]  # type: ignore[index]
    assert client.files_delete(file=file_id)["ok"]
    [reply] = emu.messages(CHANNEL, root["ts"])
    assert reply["files"] == [{"id": file_id, "mode": "tombstone"}] and reply["text"] == "see"
    assert _get(url, emu.bot_token).status_code == 404
    assert emu.file_info(file_id) is None and emu.file_content(file_id) is None
    for call in (client.files_info, client.files_delete):
        with pytest.raises(SlackApiError) as exc:
            call(file=file_id)
        assert exc.value.response["error"] == "file_deleted"
    with pytest.raises(SlackApiError) as exc:
        client.files_delete(file="F0NOPE")
    assert exc.value.response["error"] == "file_not_found"
    human_file = emu.add_file(b"x", "x.txt", user=STAFF)
    with pytest.raises(SlackApiError) as exc:
        client.files_delete(file=human_file["id"])
    assert exc.value.response["error"] == "cant_delete_file"


def test_staff_attaches_uploaded_file_to_thread_reply(client: WebClient, emu: SlackEmulator,
                                                      sink: _EventSink) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="ticket from LINE")
    file_id = client.files_upload_v2(channel=CHANNEL, content=PNG, filename="map.png")["file"]["id"]
    sender = SlackEventSender(sink.url, emu)
    msg, resp = sender.user_message(CHANNEL, STAFF, "here is the map", thread_ts=root["ts"], files=[file_id])
    assert resp.status_code == 200
    event = sink.bodies[-1]["event"]
    assert event["type"] == "message" and event["subtype"] == "file_share"
    assert event["user"] == STAFF and event["thread_ts"] == root["ts"] and event["text"] == "here is the map"
    [f] = event["files"]
    assert f["id"] == file_id and f["name"] == "map.png" and f["mimetype"] == "image/png"
    assert _get(f["url_private_download"], emu.bot_token).content == PNG
    assert [m["ts"] for m in emu.messages(CHANNEL, root["ts"])] == [msg["ts"]]
    shares = emu.file_info(file_id)["shares"]["public"][CHANNEL]  # type: ignore[index]
    assert shares[-1] == {**shares[-1], "ts": msg["ts"], "thread_ts": root["ts"], "share_user_id": STAFF}
    with pytest.raises(KeyError):
        sender.user_message(CHANNEL, STAFF, "x", files=["F0NOPE"])


def test_file_share_via_remote_emulator_and_new_content(emu: SlackEmulator, sink: _EventSink) -> None:
    stored = emu.add_file(b"%PDF-1.4 invoice", "invoice.pdf")
    remote = SlackEventSender(sink.url, emulator_url=emu.url)  # no in-process emulator: control endpoints
    _msg, resp = remote.user_message(CHANNEL, STAFF, "invoice", files=[{"id": stored["id"]}])
    assert resp.status_code == 200
    [f] = sink.bodies[-1]["event"]["files"]
    assert f["id"] == stored["id"] and f["mimetype"] == "application/pdf" and "thumb_360" not in f
    _msg, _resp = remote.user_message(CHANNEL, STAFF, "photo",
                                      files=[{"name": "p.jpg", "content": b"\xff\xd8jpeg", "mimetype": "image/jpeg"}])
    [g] = sink.bodies[-1]["event"]["files"]
    assert g["user"] == STAFF and _get(g["thumb_360"], emu.bot_token).content == b"\xff\xd8jpeg"
    assert requests.get(f"{emu.url}/_emulator/files/F0NOPE", timeout=5).status_code == 404


def _file_modal(**element: Any) -> dict[str, Any]:
    return {"type": "modal", "callback_id": "upload", "title": {"type": "plain_text", "text": "Upload"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [{"type": "input", "block_id": "pic", "label": {"type": "plain_text", "text": "Picture"},
                        "element": {"type": "file_input", "action_id": "pic", **element}}]}


def test_file_input_modals_are_validated_and_submit_full_file_objects(client: WebClient, emu: SlackEmulator) -> None:
    for bad in (_file_modal(max_files=0), _file_modal(max_files=11), _file_modal(filetypes="png"),
                {**_file_modal(), "blocks": [{"type": "actions", "elements": [{"type": "file_input", "action_id": "x"}]}]},
                {**_file_modal(), "blocks": [{"type": "image", "alt_text": "x", "slack_file": {}}]}):
        with pytest.raises(SlackApiError) as exc:
            client.views_open(trigger_id="1.2.abc", view=bad)
        assert exc.value.response["error"] == "invalid_arguments", bad
    view = client.views_open(trigger_id="1.2.abc", view=_file_modal(filetypes=["png"], max_files=1))["view"]
    client.views_update(view_id=view["id"], view={**_file_modal(), "blocks": [
        {"type": "image", "alt_text": "preview", "slack_file": {"id": "F123"}}]})

    payloads: list[dict[str, Any]] = []
    app = Flask("interactions")

    @app.route("/slack/events", methods=["POST"])
    def interactions() -> str:
        payloads.append(json.loads(request.form["payload"]))
        return ""

    server = serve_in_thread(app)
    try:
        sender = SlackEventSender(server.url + "/slack/events", emu)
        sender.view_submission(STAFF, view, {"pic": {"pic": {"type": "file_input", "files": [
            {"name": "map.png", "content": PNG, "mimetype": "image/png"}]}}})
        (state,) = [p["view"]["state"]["values"]["pic"]["pic"] for p in payloads]
        (f,) = state["files"]
        assert state["type"] == "file_input"
        assert (f["name"], f["mimetype"], f["filetype"], f["size"], f["user"]) == ("map.png", "image/png", "png", len(PNG), STAFF)
        assert _get(f["url_private"], emu.bot_token).content == PNG                     # the app can download it
        # a stored file's id is expanded to its file object
        sender.view_submission(STAFF, view, {"pic": {"pic": {"type": "file_input", "files": [f["id"]]}}})
        assert payloads[-1]["view"]["state"]["values"]["pic"]["pic"]["files"][0]["url_private"] == f["url_private"]
        # what Slack's client does not let a user submit
        for files in ([f["id"], f["id"]], [{"name": "clip.gif", "content": b"GIF89a", "mimetype": "image/gif"}],
                      [{"name": "huge.png", "content": PNG + b"\0" * (10 * 1024 * 1024), "mimetype": "image/png"}]):
            with pytest.raises(ValueError):
                sender.view_submission(STAFF, view, {"pic": {"pic": {"type": "file_input", "files": files}}})
    finally:
        server.stop()


# ---------------------------------------------------------------- files shown by a later message
def _unshared(client: WebClient, content: bytes, filename: str) -> str:
    """An upload completed without channel_id: private to the app, shared nowhere."""
    return client.files_upload_v2(content=content, filename=filename)["file"]["id"]


def _image(file_ref: dict[str, str]) -> list[dict[str, Any]]:
    return [{"type": "image", "slack_file": file_ref, "alt_text": "photo"}]


def _refused(call: Any) -> list[str]:
    with pytest.raises(SlackApiError) as exc:
        call()
    assert exc.value.response["error"] == "invalid_blocks"
    return exc.value.response["errors"]


def test_an_upload_without_channel_is_shared_nowhere_until_a_message_shows_it(client: WebClient, emu: SlackEmulator) -> None:
    file_id = _unshared(client, PNG, "photo.png")
    info = client.files_info(file=file_id)["file"]
    assert not info.get("shares") and not info.get("channels") and emu.messages(CHANNEL) == []
    root = client.chat_postMessage(channel=CHANNEL, text="ticket")
    posted = client.chat_postMessage(channel=CHANNEL, thread_ts=root["ts"], text="写真", blocks=_image({"id": file_id}),
                                     username="山田 花子", icon_url="https://profile.line-scdn.net/hanako")
    [reply] = emu.messages(CHANNEL, root["ts"])
    assert reply["ts"] == posted["ts"] and reply["username"] == "山田 花子" and "files" not in reply
    assert emu.shown_files(reply) == [file_id]
    by_url = client.chat_postMessage(channel=CHANNEL, text="x", blocks=_image({"url": info["url_private"]}))
    assert emu.shown_files(emu.message(CHANNEL, by_url["ts"])) == [file_id]  # type: ignore[arg-type]


def test_slack_file_images_must_exist_be_images_and_be_visible_to_the_app(client: WebClient, emu: SlackEmulator) -> None:
    pdf = _unshared(client, b"%PDF-1.4", "a.pdf")
    webp = _unshared(client, b"RIFF....WEBP", "a.webp")
    others = emu.add_file(PNG, "staff.png", user=STAFF)["id"]  # a person's upload, never shown to the app
    deleted = _unshared(client, PNG, "gone.png")
    client.files_delete(file=deleted)
    for ref in ({"id": "F0NOPE"}, {"id": pdf}, {"id": webp}, {"id": others}, {"id": deleted},
                {"url": "https://elsewhere.example/a.png"}):
        errors = _refused(lambda: client.chat_postMessage(channel=CHANNEL, text="x", blocks=_image(ref)))
        assert errors == ["invalid slack file [json-pointer:/blocks/0/slack_file]"], ref
    context = [{"type": "context", "elements": [{"type": "image", "slack_file": {"id": pdf}, "alt_text": "x"}]}]
    assert _refused(lambda: client.chat_postMessage(channel=CHANNEL, text="x", blocks=context)) == \
        ["invalid slack file [json-pointer:/blocks/0/elements/0/slack_file]"]
    ok = client.chat_postMessage(channel=CHANNEL, text="ok")
    _refused(lambda: client.chat_update(channel=CHANNEL, ts=ok["ts"], text="x", blocks=_image({"id": pdf})))
    # once the person shares it somewhere, the app may show it too
    emu.add_user_message(CHANNEL, STAFF, "map", files=[others])
    client.chat_postMessage(channel=CHANNEL, text="x", blocks=_image({"id": others}))


def test_a_fresh_upload_is_refused_as_an_image_until_slack_processed_it(client: WebClient, emu: SlackEmulator,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(emu, "clock", lambda: now[0])
    monkeypatch.setattr(emu, "file_processing_seconds", 2.0)
    file_id = _unshared(client, PNG, "photo.png")
    _refused(lambda: client.chat_postMessage(channel=CHANNEL, text="x", blocks=_image({"id": file_id})))
    now[0] += 2.5
    assert client.chat_postMessage(channel=CHANNEL, text="x", blocks=_image({"id": file_id}))["ok"]


def test_a_permalink_in_the_text_shares_the_file_with_the_message(client: WebClient, emu: SlackEmulator) -> None:
    file_id = _unshared(client, b"%PDF-1.4 quote", "見積書.pdf")
    link = client.files_info(file=file_id)["file"]["permalink"]
    root = client.chat_postMessage(channel=CHANNEL, text="ticket")
    posted = client.chat_postMessage(channel=CHANNEL, thread_ts=root["ts"], text=f"📎 <{link}|見積書.pdf>", username="花子")
    [reply] = emu.messages(CHANNEL, root["ts"])
    assert [f["id"] for f in reply["files"]] == [file_id] and reply["files"][0]["name"] == "見積書.pdf"
    share = client.files_info(file=file_id)["file"]["shares"]["public"][CHANNEL][0]
    assert share["ts"] == posted["ts"] and share["thread_ts"] == root["ts"]
    other_team = link.replace(f"https://{emu.team_domain}.", "https://elsewhere.")
    plain = client.chat_postMessage(channel=CHANNEL, text=f"<{other_team}>")
    assert "files" not in emu.message(CHANNEL, plain["ts"])  # type: ignore[operator]
