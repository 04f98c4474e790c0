"""The sandbox page as a newcomer uses it (issue #19): outcomes stay in sight, the view survives a
reload, the undo window can be tried (edit / delete one's own reply), the seeded config (an admin,
定型文), narrow windows and the language of the bridge. Through the page only."""
from __future__ import annotations

import re

from playwright.sync_api import Locator, expect

from tests.browser.conftest import Sandbox, loaded, png


def scrolled_to_bottom(pane: Locator) -> None:
    """The list shows its newest message: scrolled to the end (retried: pictures load late)."""
    expect(pane).to_have_js_property("_stick", True)
    pane.page.wait_for_function("el => el.scrollHeight - el.scrollTop - el.clientHeight < 2", arg=pane.element_handle(),
                                timeout=30_000)


def test_the_thread_and_line_follow_the_newest_message_after_pictures_and_a_block(sandbox: Sandbox):
    name = sandbox.unique("スクロール 一子")
    sandbox.add_friend(name)
    sandbox.friend_says("写真を送ります")
    for color in ((230, 80, 40), (40, 160, 90), (40, 90, 200), (200, 180, 40)):
        sandbox.send_image(png(color, (160, 320)))
    sandbox.open_thread(name)
    images = sandbox.thread.get_by_test_id("slack-file-image")
    expect(images).to_have_count(4)
    for i in range(4):
        loaded(images.nth(i))
    scrolled_to_bottom(sandbox.thread)
    expect(images.last).to_be_in_viewport()
    scrolled_to_bottom(sandbox.line)

    # A reader who scrolled up keeps their place and is told that something new arrived.
    sandbox.thread.evaluate("el => { el.scrollTop = 0; }")
    expect(sandbox.thread).to_have_js_property("_stick", False)
    sandbox.friend_says("届きましたか？")
    marker = sandbox.page.get_by_test_id("slack-pane").get_by_test_id("new-messages").last
    expect(marker).to_be_visible()
    expect(marker).to_have_text("新しいメッセージ ↓")
    marker.click()
    expect(sandbox.thread.get_by_test_id("slack-message").filter(has_text="届きましたか？")).to_be_in_viewport()
    expect(marker).to_be_hidden()

    # Blocking: the ⛔ notice, the refused reply and its ❌ are in sight without scrolling.
    sandbox.page.get_by_test_id("line-pane").get_by_role("button", name="ブロック", exact=True).click()
    expect(sandbox.thread.get_by_text("⛔ ブロックされました")).to_be_in_viewport()
    sandbox.staff_says("失礼いたしました。")
    reply = sandbox.thread.get_by_test_id("slack-message").filter(has_text="失礼いたしました。")
    expect(reply.get_by_title(re.compile(" :x:$"))).to_be_in_viewport()
    expect(sandbox.thread.get_by_text("⚠️ LINE に送信できませんでした")).to_be_in_viewport()
    scrolled_to_bottom(sandbox.thread)


def test_a_reload_keeps_the_account_the_chat_and_the_open_thread(sandbox: Sandbox):
    page = sandbox.page
    page.get_by_test_id("line-account").select_option(label="🏪 梅田店")
    first, second = sandbox.unique("再読込 一郎"), sandbox.unique("再読込 二郎")
    sandbox.add_friend(first)
    sandbox.friend_says("一郎です")
    sandbox.add_friend(second)
    sandbox.friend_says("二郎です")
    page.get_by_test_id("line-chat").select_option(label=first)  # not the newest friend
    sandbox.open_thread(first)

    page.reload()
    expect(page.get_by_test_id("line-account").locator("option:checked")).to_have_text("🏪 梅田店")
    expect(page.get_by_test_id("line-chat").locator("option:checked")).to_have_text(first)
    expect(page.locator("#line-head")).to_contain_text(first)
    expect(sandbox.thread).to_contain_text("一郎です")
    expect(page.get_by_test_id("thread-input")).to_be_enabled()


def _reply(sandbox: Sandbox, text: str) -> Locator:
    sandbox.staff_says(text)
    return sandbox.thread.get_by_test_id("slack-message").filter(has_text=text)


def test_editing_a_reply_within_the_undo_window_changes_what_line_gets(sandbox: Sandbox):
    name = sandbox.unique("編集 花子")
    sandbox.add_friend(name)
    sandbox.friend_says("明日は何時が空いていますか")
    sandbox.open_thread(name)
    reply = _reply(sandbox, "明日の 10 時はいかがでしょう")
    waiting = reply.get_by_title(re.compile("送信待ち"))  # ⏳ says what it waits for
    expect(waiting).to_be_visible()
    expect(waiting).to_have_attribute("title", re.compile("10 秒"))
    expect(sandbox.page.get_by_test_id("undo-hint")).to_contain_text("10 秒後に LINE へ送られます")

    reply.get_by_title("編集", exact=True).click()
    sandbox.page.get_by_test_id("edit-text").fill("明日の 11 時はいかがでしょう")
    sandbox.page.get_by_test_id("edit-box").get_by_role("button", name="保存").click()
    edited = sandbox.thread.get_by_test_id("slack-message").filter(has_text="明日の 11 時はいかがでしょう")
    expect(edited.get_by_test_id("edited")).to_have_text("（編集済み）")
    expect(sandbox.thread).to_contain_text("✏️ 送信前に編集されました。LINE には編集後の内容を送ります。")
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_contain_text("明日の 11 時はいかがでしょう")
    expect(sandbox.line).not_to_contain_text("10 時")


def test_deleting_a_reply_within_the_undo_window_cancels_it(sandbox: Sandbox):
    name = sandbox.unique("削除 太郎")
    sandbox.add_friend(name)
    sandbox.friend_says("キャンセルできますか")
    sandbox.open_thread(name)
    wrong = _reply(sandbox, "間違えて送ったメッセージ")
    sandbox.page.once("dialog", lambda dialog: dialog.accept())  # 「このメッセージを削除しますか？」
    wrong.get_by_title("削除", exact=True).click()
    expect(wrong).to_have_count(0)
    expect(sandbox.thread).to_contain_text("🗑️ 送信前に削除されたため、LINE には送信しません。")
    sandbox.staff_says("はい、キャンセルできます")  # sent after its own window, the deleted one never
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_have_text(re.compile("はい、キャンセルできます"))
    expect(sandbox.line).not_to_contain_text("間違えて")


def test_editing_a_reply_after_it_was_sent_offers_a_correction_and_a_delete_retracts_nothing(sandbox: Sandbox):
    name = sandbox.unique("訂正 次郎")
    sandbox.add_friend(name)
    sandbox.friend_says("料金はいくらですか")
    sandbox.open_thread(name)
    reply = _reply(sandbox, "料金は 3000 円です")
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_contain_text("料金は 3000 円です")
    expect(reply.get_by_title(re.compile(":(free|1234):"))).to_be_visible()

    reply.get_by_title("編集", exact=True).click()
    sandbox.page.get_by_test_id("edit-text").fill("料金は 3500 円です")
    sandbox.page.get_by_test_id("edit-box").get_by_role("button", name="保存").click()
    offer = sandbox.thread.get_by_test_id("ephemeral").filter(has_text="すでに LINE に送信済み")
    offer.get_by_role("button", name="訂正として送信").click()
    expect(sandbox.line.get_by_test_id("line-bot-message").filter(has_text="【訂正】")).to_contain_text("料金は 3500 円です")

    sandbox.page.once("dialog", lambda dialog: dialog.accept())  # deleting after delivery retracts nothing
    sandbox.thread.get_by_test_id("slack-message").filter(has_text="料金は 3500 円です").first.get_by_title("削除", exact=True).click()
    expect(sandbox.thread.get_by_test_id("ephemeral").filter(has_text="LINE のメッセージは取り消せません")).to_be_visible()
    expect(sandbox.line).to_contain_text("料金は 3000 円です")


def test_the_admin_adds_a_canned_reply_and_the_modal_offers_it(sandbox: Sandbox):
    page = sandbox.page
    expect(page.get_by_test_id("slack-user").locator("option:checked")).to_have_text("@佐藤 (管理者)")
    sandbox.act_as("@鈴木")
    sandbox.command("/canned add nope 管理者ではありません")
    expect(sandbox.channel.get_by_test_id("ephemeral").last).to_contain_text("管理者だけ")
    sandbox.act_as("@佐藤 (管理者)")
    sandbox.command("/canned add account:default closed 本日は臨時休業です。")
    expect(sandbox.channel.get_by_test_id("ephemeral").last).to_contain_text("!closed")

    name = sandbox.unique("定型文 三郎")
    sandbox.add_friend(name)
    sandbox.friend_says("今日は営業していますか")
    sandbox.open_thread(name)
    relayed = sandbox.thread.get_by_test_id("slack-message").filter(has_text="今日は営業していますか")
    relayed.get_by_title("会話の操作").click()
    picker = page.get_by_test_id("modal").locator("select[data-aid=canned]")
    for key in ("!thanks", "!hours", "!closed"):  # two seeded 定型文 and the one just added
        expect(picker.locator("option", has_text=key)).to_have_count(1)
    picker.select_option(value="closed")
    page.get_by_test_id("modal").get_by_role("button", name="保存").click()
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_contain_text("本日は臨時休業です。")


def test_a_seeded_auto_reply_and_a_sticker_shown_from_the_sandbox(sandbox: Sandbox):
    name = sandbox.unique("自動 四郎")
    sandbox.add_friend(name)
    sandbox.friend_says("お店の住所を教えてください")
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_contain_text(f"{name}様、店舗は東京都渋谷区")
    sandbox.page.locator("#sticker-btn").click()
    sandbox.page.get_by_test_id("line-pane").locator("[data-sticker='0']").click()
    sandbox.open_thread(name)
    sticker = sandbox.thread.locator(".bk-image img")
    expect(sticker).to_have_attribute("src", re.compile(r"^/sticker\.svg\?id=\d+$"))  # no LINE CDN offline
    loaded(sticker, 120)


def _inside(inner: Locator, outer: Locator) -> None:
    a, b = inner.bounding_box(), outer.bounding_box()
    assert a and b and b["x"] - 1 <= a["x"] and a["x"] + a["width"] <= b["x"] + b["width"] + 1, (a, b)


def test_group_compose_fits_its_pane(sandbox: Sandbox):
    a, b = sandbox.unique("とても長い名前の友だち 甲"), sandbox.unique("とても長い名前の友だち 乙")
    sandbox.add_friend(a)
    sandbox.add_friend(b)
    sandbox.page.get_by_role("button", name="＋グループ").click()
    sandbox.page.get_by_test_id("group-name").fill(sandbox.unique("長い名前のグループ"))
    sandbox.page.get_by_label(a, exact=True).check()
    sandbox.page.get_by_label(b, exact=True).check()
    sandbox.page.get_by_role("button", name="グループを作る").click()
    expect(sandbox.page.locator("#line-sender")).to_be_visible()
    pane = sandbox.page.get_by_test_id("line-pane")
    assert 380 <= pane.bounding_box()["width"] <= 420
    _inside(pane.get_by_role("button", name="送信"), pane)
    _inside(sandbox.page.get_by_test_id("line-input"), pane)


def test_both_sides_are_usable_at_800_px_and_stack_below(open_sandbox):
    sandbox = open_sandbox(800, 800)
    name = sandbox.unique("幅 五子")
    sandbox.add_friend(name)
    sandbox.friend_says("小さい画面です")
    sandbox.open_thread(name)
    page = sandbox.page
    line, slack = page.get_by_test_id("line-pane"), page.get_by_test_id("slack-pane")
    assert line.bounding_box()["y"] == slack.bounding_box()["y"]  # side by side
    _inside(line.get_by_role("button", name="送信"), line)
    reply = page.locator("#thread-compose").get_by_role("button", name="返信")
    _inside(reply, page.locator("#thread-compose"))
    expect(reply).to_be_in_viewport(ratio=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    sandbox.staff_says("はい、見えています")
    expect(sandbox.line).to_contain_text("はい、見えています")

    narrow = open_sandbox(700, 800)
    line, slack = narrow.page.get_by_test_id("line-pane"), narrow.page.get_by_test_id("slack-pane")
    expect(slack).to_be_visible()
    assert slack.bounding_box()["y"] >= line.bounding_box()["y"] + line.bounding_box()["height"]  # stacked
    assert narrow.page.evaluate("document.documentElement.scrollWidth") <= 700


def test_english_says_which_language_the_bridge_writes(sandbox: Sandbox):
    name = sandbox.unique("英語 六郎")
    sandbox.add_friend(name)
    sandbox.friend_says("こんにちは")
    sandbox.open_thread(name)
    sandbox.staff_says("こんにちは！")
    note = sandbox.page.get_by_test_id("bridge-language")
    expect(note).to_be_hidden()  # the page and the bridge both speak Japanese
    sandbox.page.get_by_role("button", name="English").click()
    expect(note).to_contain_text("BRIDGE_LANGUAGE=ja")
    expect(note).to_contain_text("--lang en")
    expect(sandbox.parent(name).locator(".replies")).to_have_text(re.compile(r"^💬 (1 reply|([2-9]|\d\d+) replies)$"))
    expect(sandbox.channel).not_to_contain_text("1 replies")


def test_moving_the_clock_to_the_closed_day_shows_the_moon_and_the_auto_reply(sandbox: Sandbox):
    clock = sandbox.page.get_by_test_id("sandbox-clock")
    expect(clock.locator("option:checked")).to_have_text("🕘 今（営業中）")
    name = sandbox.unique("休業日 七郎")
    sandbox.add_friend(name)
    try:
        clock.select_option(index=1)  # 🌙 <date>（休業日）
        expect(clock.locator("option:checked")).to_contain_text("休業日")
        sandbox.friend_says("明日は開いていますか")
        expect(sandbox.line.get_by_test_id("line-bot-message")).to_contain_text(f"{name}様、メッセージありがとうございます。ただいま営業時間外")
        expect(sandbox.parent(name)).to_contain_text("🌙 営業時間外")
    finally:  # the sandbox is shared by the tests: back to the real (open) clock
        clock.select_option(index=0)
        expect(clock.locator("option:checked")).to_have_text("🕘 今（営業中）")
