"""/media and every Slack file download: the bot token goes to Slack's own file hosts only.

A remote file's ``url_private`` is someone's external URL; here that host is a tiny local
HTTP server recording every request it gets, and the tests assert it received NOTHING.
Also: production-mode host/address checks, no redirects off Slack's hosts, cacheable
answers (ETag/304, each made variant made once), a per-link rate limit, and a gunicorn
access log that never shows a token.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bridge.media.outbound import MediaOut, NotSent
from bridge.media.sign import media_url
from bridge.model import DeliveryFailed
from bridge.settings import SLACK_DEFAULT_API
from bridge.slack.file_hosts import FileHosts
from emulators.line_media import make_png
from emulators.slack_api import SlackEmulator
from emulators.server import serve_in_thread
from tests.conftest import STAFF, wait_until
from tests.helpers import open_thread, procfile_web


class Recorder:
    """An external host (a remote file's, a redirect's target): records each request and its headers."""

    def __init__(self):
        self.requests: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                recorder.requests.append({"path": self.path, "headers": dict(self.headers)})
                body = b"ami-id\nsecret-role-credentials"
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def external():
    rec = Recorder()
    yield rec
    rec.stop()


def delivered(h):
    return [m for d in h.line.deliveries for m in d.messages]


def local(h, url: str) -> str:
    return url.replace("http://127.0.0.1/", h.url + "/", 1)


def media_urls(message: dict) -> list[str]:
    urls = [v for k, v in message.items() if k.endswith("Url") and isinstance(v, str)]
    if message.get("type") == "text":
        urls += [w for w in message["text"].split() if "/media/" in w]
    return urls


def test_a_remote_file_with_an_https_link_reaches_the_friend_as_that_link(h):
    """The Drive/Dropbox link staff shared is what a friend can open (a Slack permalink needs a
    workspace login); it is passed on as text, never fetched."""
    thread = open_thread(h)
    remote = h.slack.add_remote_file("gdrive-https", "https://docs.example.com/d/1", "見積書", filetype="pdf",
                                     user=STAFF)
    h.staff_says(thread, "見積書です", files=[remote["id"]])
    assert wait_until(lambda: len(delivered(h)) == 2, timeout=20)
    text, link = delivered(h)
    assert text["text"] == "見積書です"
    assert link == {**link, "type": "text", "text": "🔗 見積書\nhttps://docs.example.com/d/1"}


def test_a_remote_file_reaches_the_friend_as_a_link_and_its_host_never_sees_the_token(h, external):
    thread = open_thread(h)
    remote = h.slack.add_remote_file("gdrive-1", external.url + "/latest/meta-data/iam", "店舗写真", filetype="jpg",
                                     user=STAFF)
    assert remote["mimetype"] == "image/jpeg" and remote["url_private"].startswith(external.url)
    h.staff_says(thread, "写真はこちら", files=[remote["id"]])
    assert wait_until(lambda: len(delivered(h)) == 2, timeout=20)
    text, link = delivered(h)
    assert text["text"] == "写真はこちら"
    assert link == {**link, "type": "text", "text": f"🔗 店舗写真\n{remote['permalink']}"}
    for message in delivered(h):  # LINE (or the friend) fetches whatever /media link it was given
        for url in media_urls(message):
            requests.get(local(h, url), timeout=10)
    assert external.requests == []


def test_a_media_link_to_a_remote_file_is_refused_without_contacting_its_host(h, external):
    remote = h.slack.add_remote_file("dropbox-7", external.url + "/computeMetadata/v1/", "plan.png", filetype="png")
    for variant in ("orig", "jpeg", "preview", "dl"):
        got = requests.get(local(h, media_url(h.settings, remote["id"], variant)), timeout=10)
        assert got.status_code == 404, (variant, got.status_code)
        assert b"secret" not in got.content
    assert external.requests == []


def test_a_redirect_off_slack_is_not_followed(h, external):
    png = make_png(40, 30)
    stored = h.slack.add_file(png, "map.png", mimetype="image/png", user=STAFF)
    h.slack.redirect_file(stored["id"], external.url + "/elsewhere")
    got = requests.get(local(h, media_url(h.settings, stored["id"], "orig")), timeout=10)
    assert got.status_code == 404 and b"secret" not in got.content
    assert external.requests == []


def test_a_broadcast_image_must_be_a_slack_hosted_file(ip, external):
    remote = ip.slack.add_remote_file("gdrive-9", external.url + "/x.jpg", "campaign.jpg", filetype="jpg")
    with pytest.raises(NotSent) as refused:
        MediaOut(ip.domain.services).checked_image(remote["id"])
    assert refused.value.key == "media.out.remote"
    assert external.requests == []


def test_the_slack_emulator_adds_remote_files_as_slack_does():
    from slack_sdk import WebClient

    emu = SlackEmulator(bot_token="xoxb-remote", signing_secret="s",
                        scopes={"remote_files:write", "remote_files:read", "files:read"})
    server = serve_in_thread(emu.app)
    try:
        client = WebClient(token="xoxb-remote", base_url=server.url + "/api/")
        f = client.files_remote_add(external_id="ext-1", external_url="https://docs.example.com/d/1",
                                    title="Quarterly plan")["file"]
        assert (f["mode"], f["is_external"], f["external_type"], f["size"]) == ("external", True, "app", 0)
        assert f["url_private"] == f["external_url"] == "https://docs.example.com/d/1"
        assert (f["mimetype"], f["filetype"]) == ("application/vnd.slack-remote", "remote")
        assert "url_private_download" not in f and ".slack.com/files/" in f["permalink"]
        assert client.files_info(file=f["id"])["file"]["external_id"] == "ext-1"
        assert client.files_remote_info(external_id="ext-1")["file"]["id"] == f["id"]
    finally:
        server.stop()


# -- where the token may go ------------------------------------------------------------------------
def production(settings, addresses: dict[str, list[str]]) -> FileHosts:
    def resolve(host, port, **_kw):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses.get(host, [])]

    return FileHosts(replace(settings, slack_api_base_url=SLACK_DEFAULT_API), resolve=resolve)


def test_in_production_only_slack_file_hosts_on_public_addresses_get_the_token(settings):
    hosts = production(settings, {"files.slack.com": ["52.89.214.238"]})
    assert hosts.refusal("https://files.slack.com/files-pri/T1-F1/photo.png") == ""
    for url in ("http://169.254.169.254/latest/meta-data/", "https://docs.google.com/d/1",
                "https://files.slack.com.evil.example/x", "http://files.slack.com/files-pri/T1-F1/a",
                "https://files.slack.com:8443/files-pri/T1-F1/a", "https://user:pw@files.slack.com/x",
                "https://127.0.0.1/x", "https://[::1]/x", "https://slack.com/api/files.remote.add", "file:///etc/passwd"):
        assert hosts.refusal(url), url
        with pytest.raises(DeliveryFailed):
            hosts.check(url)
    for address in ("10.0.0.5", "127.0.0.1", "169.254.169.254", "192.168.1.1", "100.64.0.1", "::ffff:127.0.0.1",
                    "fe80::1", "0.0.0.0"):
        family = production(settings, {"files.slack.com": ["52.89.214.238", address]})
        assert "non-public" in family.refusal("https://files.slack.com/files-pri/T1-F1/a"), address


def test_with_a_configured_slack_base_only_its_own_origin_gets_the_token(settings, slack_emu, external):
    hosts = FileHosts(settings)
    assert hosts.refusal(slack_emu.url + "/_emulator/files/F1/a.png") == ""
    assert hosts.refusal(external.url + "/a.png")
    assert hosts.refusal("https://files.slack.com/files-pri/T1-F1/a")


# -- caching and rate limiting ---------------------------------------------------------------------
def test_answers_are_cacheable_and_a_made_variant_is_made_once(h):
    big = make_png(900, 700, min_bytes=1536 * 1024)  # over 1 MB: the preview must be re-encoded
    stored = h.slack.add_file(big, "big.png", mimetype="image/png", user=STAFF)
    url = local(h, media_url(h.settings, stored["id"], "preview"))
    first = requests.get(url, timeout=20)
    assert first.status_code == 200 and first.headers["Content-Type"] == "image/jpeg"
    etag, cache_control = first.headers["ETag"], first.headers["Cache-Control"]
    assert etag.startswith('"') and cache_control.startswith("private, max-age=")
    assert 0 < int(cache_control.split("=")[1]) <= h.settings.media_link_ttl
    downloads = len(h.slack.file_downloads)
    again = requests.get(url, timeout=20)
    assert again.content == first.content and again.headers["ETag"] == etag
    assert len(h.slack.file_downloads) == downloads  # neither downloaded nor re-encoded again
    unchanged = requests.get(url, headers={"If-None-Match": etag}, timeout=20)
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["ETag"] == etag
    assert len(h.slack.file_downloads) == downloads


def test_a_link_hammered_by_one_client_is_rate_limited(h):
    stored = h.slack.add_file(b"%PDF-1.4 x", "a.pdf", mimetype="application/pdf", user=STAFF)
    url = local(h, media_url(h.settings, stored["id"], "dl", "a.pdf"))
    statuses = [requests.get(url, timeout=10).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    limited = requests.get(url, timeout=10)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    other = local(h, media_url(h.settings, stored["id"], "orig"))
    assert requests.get(other, timeout=10).status_code == 200  # another link of the same file is not limited


# -- the access log --------------------------------------------------------------------------------
def test_gunicorn_access_log_never_shows_a_media_token(bridge_env, slack_emu):
    from bridge.settings import Settings

    settings = Settings.from_env(bridge_env)
    stored = slack_emu.add_file(make_png(20, 20), "地図.png", mimetype="image/png", user=STAFF)
    link = media_url(settings, stored["id"], "orig", "地図.png")
    token = link.split("/media/")[1].split("/")[0]
    with procfile_web(bridge_env) as web:
        assert requests.get(link.replace("http://127.0.0.1", web.base, 1), timeout=10).status_code == 200
        assert requests.get(f"{web.base}/media/{token}?x=1", headers={"Referer": f"{web.base}/media/{token}"},
                            timeout=10).status_code == 200
    assert "/media/[redacted]/" in web.output, web.output
    assert token not in web.output and token[:20] not in web.output, web.output
