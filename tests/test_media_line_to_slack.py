"""LINE → Slack media, end to end: content downloaded from the LINE emulator, uploaded unshared, and
shown in the thread by one message under the friend's name and icon (images as image blocks, other
files attached by their permalink)."""
from __future__ import annotations

from functools import partial

from emulators.line_media import make_m4a, make_mp4, make_png
from tests.conftest import HANAKO, TRIAGE, wait_until
from tests.helpers import open_thread

open_thread = partial(open_thread, text="はじめまして", then="写真を送ります")  # a thread holding one friend message

HANAKO_ICON = "https://profile.line-scdn.net/hanako"


def files_in_thread(h, thread):
    """The thread's messages that show files (attached, or images of their blocks)."""
    return [m for m in h.thread_messages(thread) if h.slack.shown_files(m)]


def contents(h, message) -> list[bytes]:
    return [h.slack.file_content(f) for f in h.slack.shown_files(message)]


def image_ids(message) -> list[str]:
    return [b["slack_file"]["id"] for b in message.get("blocks") or [] if b["type"] == "image" and "slack_file" in b]


def test_image_video_audio_and_file_appear_under_the_friends_name_and_icon(h):
    thread = open_thread(h)
    png, mp4, m4a = make_png(), make_mp4(), make_m4a()
    h.send_line(h.webhooks.image(HANAKO, data=png, content_type="image/png"))
    h.send_line(h.webhooks.video(HANAKO, data=mp4))
    h.send_line(h.webhooks.audio(HANAKO, data=m4a))
    h.send_line(h.webhooks.file(HANAKO, "見積書.pdf", data=b"%PDF-1.4 tiny"))
    assert wait_until(lambda: len(files_in_thread(h, thread)) == 4, timeout=20)
    uploads = files_in_thread(h, thread)
    # like the friend's texts: their name and picture, not the bot's
    assert [m["username"] for m in uploads] == ["山田 花子"] * 4
    assert all(m["icons"]["image_48"] == HANAKO_ICON for m in uploads)
    assert [contents(h, m) for m in uploads] == [[png], [mp4], [m4a], [b"%PDF-1.4 tiny"]]
    image, *others = uploads
    assert len(image_ids(image)) == 1 and "files" not in image  # the photo itself, in the message
    assert all(not image_ids(m) and len(m["files"]) == 1 for m in others)  # attached by their permalink
    assert others[2]["files"][0]["name"] == "見積書.pdf"
    assert h.slack.file_info(image_ids(image)[0])["name"].endswith(".png")
    # one Slack message per LINE message: nothing else was posted, no upload shared on its own
    assert len(h.thread_messages(thread)) == 5
    assert all("channel_id" not in c.args for c in h.slack.calls_for("files.completeUploadExternal"))


def test_a_file_name_from_line_cannot_ping_the_channel(h):
    thread = open_thread(h)
    h.send_line(h.webhooks.file(HANAKO, "<!channel> 請求書.pdf", data=b"%PDF-1.4 x"))
    assert wait_until(lambda: files_in_thread(h, thread), timeout=20)
    text = files_in_thread(h, thread)[0]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_an_image_slack_is_still_processing_is_shown_once_it_is_ready(h, monkeypatch):
    thread = open_thread(h)
    monkeypatch.setattr(h.slack, "file_processing_seconds", 1.5)
    jpeg = b"\xff\xd8\xff\xe0a jpeg"
    h.send_line(h.webhooks.image(HANAKO, data=jpeg, content_type="image/jpeg"))
    assert wait_until(lambda: files_in_thread(h, thread), timeout=30)
    (shown,) = files_in_thread(h, thread)
    assert contents(h, shown) == [jpeg] and image_ids(shown)  # as an image, under the friend's name
    assert shown["username"] == "山田 花子"
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.response.get("error") == "invalid_blocks"]
    assert refused  # Slack said "not yet" at least once; the post was tried again, not lost
    assert len(h.slack.calls_for("files.getUploadURLExternal")) == 1  # uploaded once


def test_an_image_slack_never_accepts_as_a_block_is_shown_by_its_permalink(h, monkeypatch):
    thread = open_thread(h)
    monkeypatch.setattr(h.slack, "file_processing_seconds", 3600)
    png = make_png()
    h.send_line(h.webhooks.image(HANAKO, data=png, content_type="image/png"))
    assert wait_until(lambda: files_in_thread(h, thread), timeout=60)
    (shown,) = files_in_thread(h, thread)
    assert contents(h, shown) == [png] and shown["files"] and shown["username"] == "山田 花子"


def test_video_is_downloaded_only_after_transcoding_succeeded(h):
    thread = open_thread(h)
    h.line.fail_next("getMessageContentTranscodingByMessageId", 200, times=2, body={"status": "processing"})
    mp4 = make_mp4(5000)
    h.send_line(h.webhooks.video(HANAKO, data=mp4))
    assert wait_until(lambda: files_in_thread(h, thread), timeout=30)
    assert len(h.line.requests_for("getMessageContentTranscodingByMessageId")) >= 3
    assert contents(h, files_in_thread(h, thread)[0]) == [mp4]


def test_image_set_becomes_one_message_with_all_images_in_order(h):
    thread = open_thread(h)
    images = [make_png(rgb=(i * 40, 0, 0)) for i in range(1, 4)]
    events = [h.webhooks.image(HANAKO, data=img, content_type="image/png",
                               image_set={"id": "SET1", "index": i + 1, "total": 3}) for i, img in enumerate(images)]
    h.send_line(events[2])  # LINE may deliver them in separate webhooks, in any order
    h.send_line(events[0], events[1])
    assert wait_until(lambda: files_in_thread(h, thread), timeout=20)
    upload = files_in_thread(h, thread)
    assert len(upload) == 1 and upload[0]["username"] == "山田 花子"
    assert contents(h, upload[0]) == images and len(image_ids(upload[0])) == 3
    assert "3" in upload[0]["text"] and "3" in upload[0]["blocks"][0]["text"]["text"]  # the line above the images


def test_external_content_is_shown_from_its_urls_without_downloading(h):
    thread = open_thread(h)
    event = h.webhooks.image(HANAKO, data=None, original_url="https://cdn.example.com/photo.jpg")
    h.send_line(event)
    assert wait_until(lambda: len(h.thread_messages(thread)) == 2)
    assert "https://cdn.example.com/photo.jpg" in h.thread_messages(thread)[1]["text"]
    assert not h.line.requests_for("getMessageContent")


def test_content_line_no_longer_has_leaves_a_clear_line_in_the_thread(h):
    thread = open_thread(h)
    h.send_line(h.webhooks.image(HANAKO, data=None))  # never stored: LINE answers 404
    assert wait_until(lambda: len(h.thread_messages(thread)) == 2, timeout=20)
    line = h.thread_messages(thread)[1]["text"]
    assert "⚠️" in line and "画像" in line and "保存期間" in line


def test_failed_upload_is_retried(h):
    thread = open_thread(h)
    h.slack.fail_next("files.completeUploadExternal", error="internal_error")
    png = make_png()
    h.send_line(h.webhooks.image(HANAKO, data=png, content_type="image/png"))
    assert wait_until(lambda: files_in_thread(h, thread), timeout=30)
    assert len(files_in_thread(h, thread)) == 1


def test_a_failed_post_after_the_upload_posts_without_uploading_again(h):
    thread = open_thread(h)
    h.slack.fail_next("chat.postMessage", error="internal_error")
    png = make_png()
    h.send_line(h.webhooks.image(HANAKO, data=png, content_type="image/png"))
    assert wait_until(lambda: files_in_thread(h, thread), timeout=30)
    h.settle()
    (shown,) = files_in_thread(h, thread)
    assert contents(h, shown) == [png]
    assert len(h.slack.calls_for("files.completeUploadExternal")) == 1


def test_a_post_slack_refuses_leaves_a_clear_line_and_no_file_behind(h):
    thread = open_thread(h)
    h.slack.fail_next("chat.postMessage", error="msg_too_long")  # a refusal no retry can change
    h.send_line(h.webhooks.image(HANAKO, data=make_png(), content_type="image/png"))
    assert wait_until(lambda: len(h.thread_messages(thread)) == 2, timeout=20)
    line = h.thread_messages(thread)[1]["text"]
    assert "⚠️" in line and "山田 花子" in line and "画像" in line
    (upload,) = h.slack.calls_for("files.getUploadURLExternal")
    assert h.slack.file_content(upload.response["file_id"]) is None  # uploaded, never shown: deleted


def test_sticker_is_shown_as_its_image_with_keywords_as_alt_text(h):
    thread = open_thread(h)
    h.send_line(h.webhooks.sticker(HANAKO, "446", "1988", keywords=["OK", "Thanks"]))
    assert wait_until(lambda: len(h.thread_messages(thread)) == 2)
    blocks = h.thread_messages(thread)[1].get("blocks") or []
    image = next(b for b in blocks if b["type"] == "image")
    assert image["image_url"].endswith("/sticker/1988/android/sticker.png")
    assert "OK" in image["alt_text"] and "Thanks" in image["alt_text"]


def test_quote_shows_the_earlier_message_and_links_to_it(h):
    first = h.friend_says(HANAKO, "明日の予約は 10 時です")  # the parent carries it
    thread = h.thread_of(HANAKO)
    h.friend_says(HANAKO, "やっぱり 11 時にできますか", quoted_message_id=first["message"]["id"])
    assert wait_until(lambda: len(h.thread_messages(thread)) == 1)
    text = h.thread_messages(thread)[0]["text"]
    assert text.startswith("> 明日の予約は 10 時です")
    assert "/archives/" in text and "やっぱり 11 時にできますか" in text


def test_unsent_message_is_replaced_and_its_files_deleted(h):
    thread = open_thread(h)
    said = h.friend_says(HANAKO, "間違えて送ったメッセージ")
    img = h.webhooks.image(HANAKO, data=make_png(), content_type="image/png")
    h.send_line(img)
    assert wait_until(lambda: len(h.thread_messages(thread)) == 3 and files_in_thread(h, thread), timeout=20)
    file_id = h.slack.shown_files(files_in_thread(h, thread)[0])[0]
    h.send_line(h.webhooks.unsend(HANAKO, said["message"]["id"]))
    h.send_line(h.webhooks.unsend(HANAKO, img["message"]["id"]))
    assert wait_until(lambda: sum("送信取り消しされました" in m["text"] for m in h.thread_messages(thread)) == 2, timeout=20)
    texts = [m["text"] for m in h.thread_messages(thread)]
    assert not any("間違えて送ったメッセージ" in x for x in texts)
    assert h.slack.file_content(file_id) is None
    assert len(texts) == 3  # replaced in place, no extra notices
    assert not files_in_thread(h, thread)  # the image is gone from the message too


def test_line_emoji_show_their_fallback_text_and_mentions_show_as_at_name(h):
    group = "C" + "b" * 32
    h.line.add_group(group, "テスト班", members={HANAKO: "山田 花子"})
    event = h.webhooks.text(group, "@佐藤 おはよう (love)", source_type="group", user_id=HANAKO)
    event["message"]["emojis"] = [{"index": 10, "length": 6, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}]
    event["message"]["mention"] = {"mentionees": [{"index": 0, "length": 3, "type": "user", "userId": "U" + "9" * 32}]}
    h.send_line(event)
    thread = h.thread_of(group)
    first = h.slack.message(TRIAGE, thread)["blocks"][1]["text"]["text"]  # the first message: in the parent
    assert first.endswith(">  @佐藤 おはよう (love)")


def test_unsending_one_image_of_a_set_replaces_the_set_and_deletes_its_files(h):
    thread = open_thread(h)
    events = [h.webhooks.image(HANAKO, data=make_png(rgb=(i, 9, 9)), content_type="image/png",
                               image_set={"id": "SET2", "index": i + 1, "total": 2}) for i in range(2)]
    h.send_line(*events)
    assert wait_until(lambda: files_in_thread(h, thread), timeout=20)
    ids = h.slack.shown_files(files_in_thread(h, thread)[0])
    assert len(ids) == 2
    h.send_line(h.webhooks.unsend(HANAKO, events[1]["message"]["id"]))
    assert wait_until(lambda: any("送信取り消しされました" in m["text"] for m in h.thread_messages(thread)), timeout=20)
    assert all(h.slack.file_content(i) is None for i in ids)
