"""Slack → LINE media, end to end: files attached to a staff reply become LINE messages whose
URLs (the bridge's signed /media links) the LINE emulator fetches and checks."""
from __future__ import annotations

import requests

from emulators.line_media import make_m4a, make_mp4, make_png, media_problems
from tests.conftest import HANAKO, wait_until
from tests.helpers import open_thread


def delivered(h):
    return [m for d in h.line.deliveries for m in d.messages]


def reachable(h):
    return lambda url: url.replace("http://127.0.0.1/", h.url + "/", 1)


def test_image_video_and_audio_become_line_messages_with_fetchable_urls_in_order(h):
    thread = open_thread(h)
    png, mp4, m4a = make_png(64, 48), make_mp4(7000), make_m4a(4321)
    h.staff_says(thread, "こちらです", files=[
        {"name": "地図.png", "content": png, "mimetype": "image/png"},
        {"name": "案内.mp4", "content": mp4, "mimetype": "video/mp4"},
        {"name": "声.m4a", "content": m4a, "mimetype": "audio/x-m4a"},
    ])
    assert wait_until(lambda: len(delivered(h)) == 4, timeout=20)
    text, image, video, audio = delivered(h)
    assert text == {**text, "type": "text", "text": "こちらです"}
    assert (image["type"], video["type"], audio["type"]) == ("image", "video", "audio")
    assert audio["duration"] == 4321
    assert media_problems(h.line, rewrite=reachable(h)) == []
    assert requests.get(reachable(h)(image["originalContentUrl"])).content == png
    assert requests.get(reachable(h)(video["originalContentUrl"])).content == mp4
    assert wait_until(lambda: any(r["name"] in ("free", "1234") for m in h.thread_messages(thread) for r in m.get("reactions") or []))


def test_big_or_foreign_images_are_converted_and_previews_stay_under_1mb(h):
    thread = open_thread(h)
    big = make_png(1200, 900, min_bytes=3 * 1024 * 1024)
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    h.staff_says(thread, "", files=[{"name": "big.png", "content": big, "mimetype": "image/png"},
                                    {"name": "anim.gif", "content": gif, "mimetype": "image/gif"}])
    assert wait_until(lambda: len(delivered(h)) == 2, timeout=20)
    assert media_problems(h.line, rewrite=reachable(h)) == []
    gif_msg = delivered(h)[1]
    assert requests.get(reachable(h)(gif_msg["originalContentUrl"])).headers["Content-Type"] == "image/jpeg"


def test_other_files_become_a_text_with_a_signed_download_link(h):
    thread = open_thread(h)
    h.staff_says(thread, "見積書です", files=[{"name": "見積書.pdf", "content": b"%PDF-1.4 quote", "mimetype": "application/pdf"}])
    assert wait_until(lambda: len(h.line.delivered_texts(HANAKO)) == 2, timeout=20)
    link_text = h.line.delivered_texts(HANAKO)[1]
    assert "見積書.pdf" in link_text
    url = link_text.split("\n")[-1]
    got = requests.get(reachable(h)(url))
    assert got.status_code == 200 and got.content == b"%PDF-1.4 quote"
    base, token_and_name = url.split("/media/")
    token = token_and_name.split("/")[0]
    tampered = f"{base}/media/{token[:-3]}{'AAA' if token[-3:] != 'AAA' else 'BBB'}"
    assert requests.get(reachable(h)(tampered)).status_code in (404, 410)


def test_what_line_cannot_take_gets_a_clear_line_and_the_rest_is_sent(h):
    thread = open_thread(h)
    h.staff_says(thread, "動画です", files=[{"name": "clip.mov", "content": b"\x00\x00\x00\x14ftypqt  ", "mimetype": "video/quicktime"},
                                        {"name": "ok.png", "content": make_png(), "mimetype": "image/png"}])
    assert wait_until(lambda: len(delivered(h)) == 2, timeout=20)
    assert [m["type"] for m in delivered(h)] == ["text", "image"]
    assert wait_until(lambda: any("「clip.mov」は LINE に送信していません" in m["text"] and "MP4" in m["text"]
                                  for m in h.thread_messages(thread)))


def test_more_than_five_messages_go_in_several_requests_in_order(h):
    thread = open_thread(h)
    images = [{"name": f"{i}.png", "content": make_png(rgb=(i, i, i)), "mimetype": "image/png"} for i in range(7)]
    h.staff_says(thread, "7 枚あります", files=images)
    assert wait_until(lambda: len(delivered(h)) == 8, timeout=20)
    assert all(len(d.messages) <= 5 for d in h.line.deliveries)
    names = [requests.get(reachable(h)(m["originalContentUrl"])).content for m in delivered(h)[1:]]
    assert names == [f["content"] for f in images]
