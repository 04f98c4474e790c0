"""Segment broadcast with an image, end to end: the modal's file_input → a preview with the image →
multicast of [text, image] whose HTTPS URLs (the bridge's /media links) serve the bytes; wrong
files refused before anything is sent."""
from __future__ import annotations

import json
from collections import Counter

import pytest
import requests

from emulators.line_media import make_png, media_problems
from emulators.slack.blockkit import _validate_view
from tests.conftest import STAFF, TRIAGE, wait_until
from tests.test_broadcast import report, restart_workers, seed_friends

PUBLIC = "https://bridge.example.test"   # the deployment's public HTTPS URL (TLS ends in front of the bridge)


@pytest.fixture(scope="module")
def https_workers(workers, bridge_env):
    """The workers build LINE's media URLs from PUBLIC_BASE_URL: run them with an HTTPS one for this
    module (the test maps it onto the test web server), then give the other tests theirs back."""
    restart_workers(None, workers, {**bridge_env, "PUBLIC_BASE_URL": PUBLIC})
    yield
    restart_workers(None, workers, bridge_env)


def reachable(h):
    return lambda url: url.replace(PUBLIC + "/", h.url + "/", 1)


def compose(h, message, files):
    before = set(h.slack.views)
    assert h.slack_sender.command("/broadcast", "", user_id=STAFF, channel_id=TRIAGE).status_code == 200
    assert wait_until(lambda: set(h.slack.views) - before)
    view = h.slack.views[(set(h.slack.views) - before).pop()]
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == "image")
    assert element == {**element, "type": "file_input", "filetypes": ["jpg", "jpeg", "png"], "max_files": 1}
    values = {"conditions": {"conditions": "tag:campaign"},
              "marks": {"marks": {"type": "multi_static_select", "selected_options": []}},
              "message": {"message": message},
              "image": {"image": {"type": "file_input", "files": files}}}
    return h.slack_sender.view_submission(STAFF, view, values).json()


def multicasts(h):
    return [d for d in h.line.deliveries if d.via == "multicast"]


def test_text_and_image_reach_each_friend_once_with_https_urls_that_serve_the_bytes(h, https_workers):
    ids = seed_friends(h, n=3)
    h.line.set_monthly_quota(3)       # text + image to 3 friends counts 3 messages, not 6
    png = make_png(640, 480)
    confirm = compose(h, "新作のご案内です📷", [{"name": "新作.png", "content": png, "mimetype": "image/png"}])
    assert confirm["response_action"] == "update", confirm
    view = confirm["view"]
    assert _validate_view(view) == []
    image_block = next(b for b in view["blocks"] if b["type"] == "image")          # the preview shows the image
    assert h.slack.file_content(image_block["slack_file"]["id"]) == png
    assert "新作のご案内です" in json.dumps(view["blocks"], ensure_ascii=False) and "*3人*" in json.dumps(view, ensure_ascii=False)
    assert multicasts(h) == []

    h.slack_sender.view_submission(STAFF, view, {})
    assert wait_until(lambda: "完了" in report(h), timeout=30), report(h)
    assert "送信 3" in report(h) and "新作.png" in report(h)
    received = Counter(uid for d in multicasts(h) for uid in d.to)
    assert received == Counter({uid: 1 for uid in ids})                              # each friend exactly once
    (delivery,) = multicasts(h)
    text, image = delivery.messages
    assert text == {**text, "type": "text", "text": "新作のご案内です📷"}
    assert image["type"] == "image" and image["originalContentUrl"].startswith(PUBLIC + "/media/")
    assert image["previewImageUrl"].startswith(PUBLIC + "/media/")
    assert requests.get(reachable(h)(image["originalContentUrl"]), timeout=10).content == png
    assert media_problems(h.line, production=True, rewrite=reachable(h)) == []       # HTTPS, JPEG/PNG, sizes
    assert h.line.monthly_usage == 3
    # each friend's history refers to the broadcast, its image in the media archive
    import hashlib

    from bridge.model import conv_key

    for uid in ids:
        (entry,) = [json.loads(m) for m in h.store.r.zrange(h.store.keys.transcript(conv_id=conv_key("default", uid)), 0, -1)]
        assert entry["kind"] == "broadcast" and entry["text"] == "新作のご案内です📷" and entry["status"] == "sent"
        assert entry["media"][0]["sha256"] == hashlib.sha256(png).hexdigest() and entry["media"][0]["name"] == "新作.png"


def test_a_file_that_is_not_jpeg_or_png_is_refused_in_the_modal_and_nothing_is_sent(h, https_workers):
    seed_friends(h, n=3)
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    # a GIF saved as .png: Slack's picker lets it through (filetypes go by extension), Slack knows it is a GIF
    refused = compose(h, "お知らせ", [{"name": "banner.png", "content": gif, "mimetype": "image/gif"}])
    assert refused["response_action"] == "errors"
    assert "JPEG / PNG" in refused["errors"]["image"] and "image/gif" in refused["errors"]["image"]
    h.settle()
    assert h.line.requests_for("multicast") == []


def test_an_image_whose_bytes_are_not_jpeg_or_png_stops_the_broadcast_before_the_first_chunk(h, https_workers):
    seed_friends(h, n=3)
    fake = b"GIF89a" + b"\x00" * 200       # Slack's metadata says PNG, the bytes say otherwise
    confirm = compose(h, "お知らせ", [{"name": "fake.png", "content": fake, "mimetype": "image/png"}])
    assert confirm["response_action"] == "update"
    h.slack_sender.view_submission(STAFF, confirm["view"], {})
    assert wait_until(lambda: "中止" in report(h), timeout=30), report(h)
    assert "fake.png" in report(h) and "JPEG / PNG ではありません" in report(h) and "何も送信していません" in report(h)
    h.settle()
    assert h.line.requests_for("multicast") == []


def test_a_resumed_image_broadcast_sends_no_chunk_twice_and_reuses_the_prepared_image(h, https_workers, workers, bridge_env):
    ids = seed_friends(h, n=600)                                      # 2 chunks
    png = make_png(32, 32)
    confirm = compose(h, "", [{"name": "only-image.png", "content": png, "mimetype": "image/png"}])   # image only
    assert confirm["response_action"] == "update", confirm
    h.line.fail_next("multicast", 0, delay=1.5)                       # chunk 1 slow, chunk 2 fails with 503
    h.slack_sender.view_submission(STAFF, confirm["view"], {})
    assert wait_until(lambda: len(h.line.requests_for("multicast")) >= 1, timeout=20)
    h.line.fail_next("multicast", 503)
    assert wait_until(lambda: any(r.status == 503 for r in h.line.requests_for("multicast")), timeout=20)
    restart_workers(None, workers, {**bridge_env, "PUBLIC_BASE_URL": PUBLIC})   # killed between the chunks

    assert wait_until(lambda: "完了" in report(h), timeout=60), report(h)
    received = Counter(uid for d in multicasts(h) for uid in d.to)
    assert set(received) == set(ids) and set(received.values()) == {1}
    ok = [r for r in h.line.requests_for("multicast") if r.status == 200]
    assert len(ok) == 2 and ok[0].json["messages"] == ok[1].json["messages"]     # the very same image URL
    (image,) = ok[0].json["messages"]
    assert image["type"] == "image"
    assert requests.get(reachable(h)(image["originalContentUrl"]), timeout=10).content == png
