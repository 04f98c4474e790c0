"""Issue #19 on the sandbox page: a friend's photo is shown under the friend's name and icon, like
their texts, not as posted by the bot; one Slack message per LINE message."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw
from playwright.sync_api import Locator, expect

from tests.browser.conftest import Sandbox


def png(color: tuple[int, int, int], size: tuple[int, int] = (160, 100)) -> bytes:
    """A small real PNG, so the page's <img> has something to decode."""
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).rectangle((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def send_photo(sandbox: Sandbox, color: tuple[int, int, int]) -> None:
    with sandbox.page.expect_file_chooser() as chooser:
        sandbox.page.get_by_title("image", exact=True).click()  # 🖼️ in the friend's composer
    chooser.value.set_files(files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(color)}])


def loaded(img: Locator) -> None:
    """Shown, and the picture actually decoded (a broken image has naturalWidth 0)."""
    expect(img).to_be_visible()
    expect(img).to_have_js_property("naturalWidth", 160)


def photos(sandbox: Sandbox) -> Locator:
    """The thread's messages showing a picture of a Slack file."""
    return sandbox.thread.get_by_test_id("slack-message").filter(has=sandbox.page.get_by_test_id("slack-file-image"))


def test_a_friends_photo_is_shown_under_their_name_and_icon_like_their_texts(sandbox: Sandbox):
    name = sandbox.unique("写真 花子")
    sandbox.add_friend(name)
    sandbox.friend_says("商品の写真を送ります")  # a new chat's first message: on the thread parent
    expect(sandbox.parent(name)).to_contain_text("商品の写真を送ります")
    sandbox.friend_says("傷があるのはここです")  # in the thread, under the friend's name
    sandbox.open_thread(name)
    text = sandbox.thread.get_by_test_id("slack-message").filter(has_text="傷があるのはここです")
    expect(text.locator(".name")).to_have_text(name)
    icon = text.locator("img.avatar").get_attribute("src")

    send_photo(sandbox, (230, 80, 40))
    expect(photos(sandbox)).to_have_count(1)  # one Slack message for the LINE message: no separate upload
    photo = photos(sandbox)
    loaded(photo.get_by_test_id("slack-file-image"))
    expect(photo.locator(".name")).to_have_text(name)  # the friend, not the bot
    expect(photo.locator("img.avatar")).to_have_attribute("src", icon or "")  # with the same picture as their texts
    expect(photo).to_contain_text("画像が送信されました")
    expect(photo).not_to_contain_text(f"{name}:")  # not "<name>: 🖼️ …" written by the bot
    expect(sandbox.thread.get_by_test_id("slack-message").filter(has_text="画像が送信されました")).to_have_count(1)


def test_a_photo_that_starts_a_chat_is_shown_under_the_friends_name_too(sandbox: Sandbox):
    name = sandbox.unique("写真 一番")
    sandbox.add_friend(name)
    send_photo(sandbox, (40, 160, 90))
    expect(sandbox.parent(name)).to_be_visible()
    sandbox.open_thread(name)
    photo = photos(sandbox)
    expect(photo).to_have_count(1)
    loaded(photo.get_by_test_id("slack-file-image"))
    expect(photo.locator(".name")).to_have_text(name)
    sandbox.friend_says("見えますか？")  # and their next text comes under the same name and picture
    text = sandbox.thread.get_by_test_id("slack-message").filter(has_text="見えますか？")
    expect(text.locator(".name")).to_have_text(name)
    expect(text.locator("img.avatar")).to_have_attribute("src", photo.locator("img.avatar").get_attribute("src") or "")
