"""Issue #18 in a real browser: the history page of a conversation (opened from a personal link)
shows the messages with a photo from the media archive actually loaded; a long conversation is
paged (newest page first, older and newer by plain links); a link made for someone outside the
triage channel and an expired link are refused with a page saying why.

The web app is the bridge's own (tests/conftest.py ``bridge_server``: Redis, the media archive,
the Slack emulator for channel membership), driven by Debian's chromium (``browser`` fixture)."""
from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from bridge.archive import entry as E
from bridge.history import links
from bridge.model import Conversation
from bridge.store.messages import transcript_add, transcript_add_many
from tests.browser.conftest import loaded, png
from tests.conftest import STAFF, TRIAGE

OUTSIDER = "UOUTSIDER1"


@pytest.fixture()
def history(bridge_server, settings):
    """A conversation with a text, a photo (in the media archive) and a staff reply; returns a
    function making a link to its page: ``history(user, signed_at=…)``."""
    rt = bridge_server.server.app.config["BRIDGE_RUNTIME"]
    line_id = "U" + uuid.uuid4().hex
    conv, _ = rt.store.ensure_conversation(Conversation(conv_id=f"default:{line_id}", source_type="user", number=0,
                                                        line_id=line_id, name="写真 花子", channel=TRIAGE))
    now = time.time()
    photo = rt.archive.put(png((40, 120, 220)), "image/png", "photo.png")
    for entry in (E.make("line:1", now - 300, "in", "text", author=line_id, name="写真 花子", text="傷の写真を送ります"),
                  E.make("line:2", now - 240, "in", "image", author=line_id, name="写真 花子", media=[photo]),
                  E.make("slack:C:1.1", now - 120, "out", "text", author=STAFF, name="佐藤", text="確認します", via="reply",
                         status="sent")):
        transcript_add(rt.store, conv.conv_id, entry["t"], entry)

    def link(user: str = STAFF, signed_at: float | None = None) -> str:
        return f"{bridge_server.url}/history/{links.make_token(settings, conv.conv_id, user, signed_at)}"

    return link


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A Content-Security-Policy violation (a blocked style or image) is reported on the console.
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not errors, errors


def test_the_history_page_shows_the_conversation_with_its_photo_loaded(page, history):
    page.goto(history())
    expect(page.get_by_test_id("history-title")).to_contain_text("写真 花子")
    messages = page.get_by_test_id("history-message")
    expect(messages).to_have_count(3)
    expect(messages.nth(0)).to_contain_text("傷の写真を送ります")
    expect(messages.nth(2)).to_contain_text("確認します")
    expect(messages.nth(2)).to_contain_text("佐藤")
    loaded(page.get_by_test_id("history-image"))  # decoded from the archive through the page's own route


def test_a_link_of_someone_outside_the_triage_channel_is_refused(page, history):
    response = page.goto(history(OUTSIDER))
    assert response.status == 403
    expect(page.get_by_test_id("history-refused")).to_have_text("この履歴を見る権限がありません")
    expect(page.locator("body")).not_to_contain_text("傷の写真")
    expect(page.get_by_test_id("history-image")).to_have_count(0)


def test_an_expired_link_is_refused(page, history, settings):
    response = page.goto(history(signed_at=time.time() - settings.history_link_ttl - 10))
    assert response.status == 410
    expect(page.get_by_test_id("history-refused")).to_have_text("リンクの有効期限が切れています")
    expect(page.locator("body")).to_contain_text("/history")
    expect(page.locator("body")).not_to_contain_text("傷の写真")


def test_a_long_conversation_pages_back_and_forth_by_its_links(page, bridge_server, settings):
    rt = bridge_server.server.app.config["BRIDGE_RUNTIME"]
    line_id = "U" + uuid.uuid4().hex
    conv, _ = rt.store.ensure_conversation(Conversation(conv_id=f"default:{line_id}", source_type="user", number=0,
                                                        line_id=line_id, name="長い 花子", channel=TRIAGE))
    start = time.time() - 450 * 3600
    transcript_add_many(rt.store, [(conv.conv_id, E.make(f"line:{i}", start + i * 3600, "in", "text", author=line_id,
                                                         name="長い 花子", text=f"メッセージ {i:03d}"))
                                   for i in range(1, 451)])
    page.goto(f"{bridge_server.url}/history/{links.make_token(settings, conv.conv_id, STAFF)}")
    messages = page.get_by_test_id("history-message")
    expect(messages).to_have_count(200)
    expect(messages.last).to_contain_text("メッセージ 450")
    expect(page.get_by_test_id("history-range")).to_contain_text("の 200 件 / 全 450 件")
    expect(page.get_by_test_id("history-newer")).to_have_count(0)
    page.get_by_test_id("history-older").first.click()
    expect(messages.first).to_contain_text("メッセージ 051")
    expect(messages).to_have_count(200)
    page.get_by_test_id("history-older").first.click()
    expect(messages).to_have_count(50)
    expect(messages.first).to_contain_text("メッセージ 001")
    expect(page.get_by_test_id("history-older")).to_have_count(0)
    page.get_by_test_id("history-newer").last.click()
    expect(messages.last).to_contain_text("メッセージ 250")
