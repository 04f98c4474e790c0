"""Media building blocks without the harness: signed links, MP4 durations, previews, the emulator's URL checks,
the blocks showing a friend's files."""
from __future__ import annotations

import dataclasses
import io
import time

import pytest
from PIL import Image

from bridge.media.probe import PREVIEW_MAX_BYTES, mp4_duration_ms, to_jpeg
from bridge.media.shown import Shown, image_blocks, link_target
from bridge.media.sign import LinkInvalid, media_url, read_token
from bridge.model import Profile
from bridge.settings import Settings
from emulators.line_media import make_m4a, make_mp4, make_png, media_problems


@pytest.fixture()
def conf(settings) -> Settings:
    return settings


def token_of(url: str) -> str:
    return url.split("/media/")[1].split("/")[0]


def test_links_round_trip_and_refuse_tampering_and_other_keys(conf):
    url = media_url(conf, "F123", "orig", "見積書.pdf")
    assert url.startswith(conf.public_base_url.rstrip("/") + "/media/")
    assert read_token(conf, token_of(url)) == ("F123", "orig")
    with pytest.raises(LinkInvalid):
        read_token(conf, token_of(url)[:-2] + "xx")
    other = dataclasses.replace(conf, media_secret="another-secret")
    with pytest.raises(LinkInvalid):
        read_token(other, token_of(url))


def test_links_expire(conf, monkeypatch):
    url = media_url(conf, "F9", "preview")
    short = dataclasses.replace(conf, media_link_ttl=60)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    with pytest.raises(LinkInvalid) as info:
        read_token(short, token_of(url))
    assert info.value.expired


def test_mp4_and_m4a_durations_are_read_from_mvhd():
    assert mp4_duration_ms(io.BytesIO(make_mp4(7250))) == 7250
    assert mp4_duration_ms(io.BytesIO(make_m4a(61000))) == 61000
    assert mp4_duration_ms(io.BytesIO(b"not an mp4 at all")) is None


def test_previews_are_jpeg_under_1mb_and_generated_pngs_are_valid():
    big = make_png(2000, 1500, min_bytes=3 * 1024 * 1024)
    assert len(big) >= 3 * 1024 * 1024
    with Image.open(io.BytesIO(big)) as img:
        assert img.size == (2000, 1500)
    preview = to_jpeg(io.BytesIO(big), 480, PREVIEW_MAX_BYTES)
    assert preview[:3] == b"\xff\xd8\xff" and len(preview) <= PREVIEW_MAX_BYTES
    with Image.open(io.BytesIO(preview)) as img:
        assert max(img.size) == 480


class _Delivery:
    def __init__(self, messages):
        self.messages = messages


class _FakeEmu:
    def __init__(self, messages):
        import threading
        self._lock = threading.Lock()
        self.deliveries = [_Delivery(messages)]


def test_the_emulator_check_flags_http_urls_in_production_and_unfetchable_ones():
    emu = _FakeEmu([{"type": "image", "originalContentUrl": "http://127.0.0.1:9/x", "previewImageUrl": "http://127.0.0.1:9/y"},
                    {"type": "audio", "originalContentUrl": "http://127.0.0.1:9/z"}])
    problems = media_problems(emu, production=True)
    assert sum("not HTTPS" in p for p in problems) == 3
    assert sum("not fetchable" in p for p in problems) == 3
    assert any("without a duration" in p for p in problems)


# ---------------------------------------------------------------- how a friend's files are shown in Slack
def _shown(types, what="🖼️ 画像が送信されました", caption=False):
    return Shown("C1", "1.0", Profile("花子"), [f"F{i}" for i in range(len(types))], list(types), what, caption)


def test_images_slack_can_show_become_image_blocks_and_a_set_gets_its_line_escaped():
    assert image_blocks(_shown(["image/jpeg"])) == [
        {"type": "image", "slack_file": {"id": "F0"}, "alt_text": "🖼️ 画像が送信されました",
         "title": {"type": "plain_text", "text": "🖼️ 画像が送信されました", "emoji": True}}]
    blocks = image_blocks(_shown(["image/png", "image/gif"], what="<!channel> 2 枚", caption=True))
    assert blocks[0]["text"]["text"] == "&lt;!channel&gt; 2 枚" and [b["type"] for b in blocks] == ["section", "image", "image"]
    # anything Slack cannot show as a slack_file image is not put in an image block
    for types in (["image/webp"], ["video/mp4"], ["image/jpeg", "application/pdf"], []):
        assert image_blocks(_shown(types)) is None, types
    assert image_blocks(_shown(["image/jpeg"] * 50)) is None  # more than Slack's 50 blocks allow


def test_a_permalink_cannot_break_out_of_its_link():
    target = link_target("https://t.slack.com/files/U1/F1/<!channel>|x&y.pdf")
    assert not set("<>|") & set(target) and "&amp;" in target and target.startswith("https://t.slack.com/files/U1/F1/")
