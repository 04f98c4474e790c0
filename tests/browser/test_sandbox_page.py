"""The sandbox page, through the page only: LINE as a friend sees it (left), the Slack triage
channel as staff see it (right), the real bridge in between."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, Sandbox, loaded, png


def test_screenshots_of_both_sides_and_the_english_toggle(sandbox: Sandbox):
    """First in the file, so the screenshots show one calm conversation (the README uses them)."""
    page = sandbox.page
    friend = "山田 花子"  # the friend the sandbox starts with
    page.get_by_test_id("line-chat").select_option(label=friend)
    sandbox.friend_says("明日の予約を15時に変更できますか？")
    sandbox.parent(friend).get_by_role("button", name="🙋 担当する").click()
    expect(sandbox.parent(friend)).to_contain_text("担当: @佐藤")
    # Her 友だち情報, imported when the sandbox started, is on the parent from her first message on.
    expect(sandbox.parent(friend)).to_contain_text("🏷 VIP, リピーター")
    expect(sandbox.parent(friend)).to_contain_text("会員番号: A-1024")
    sandbox.open_thread(friend)
    sandbox.staff_says("// 常連さん。前回もこの時間")
    sandbox.staff_says("承知しました！ *15時* でお取りしますね :smile:", shown="承知しました！ 15時 でお取りしますね 😄")
    expect(sandbox.line).to_contain_text("承知しました！ 15時 でお取りしますね 😄")
    sandbox.page.locator("#sticker-btn").click()
    page.get_by_test_id("line-pane").locator("[data-sticker='2']").click()
    expect(sandbox.thread).to_contain_text("スタンプが送信されました")
    sandbox.command("/pending")
    expect(sandbox.channel.get_by_test_id("ephemeral").filter(has_text="/pending").last).to_contain_text(friend)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("line-pane").screenshot(path=SCREENSHOTS / "sandbox-line.png")
    page.get_by_test_id("slack-pane").screenshot(path=SCREENSHOTS / "sandbox-slack.png")

    page.get_by_role("button", name="✕").click()  # close the thread; the answer's link opens it again
    expect(sandbox.thread).not_to_contain_text(friend)
    sandbox.channel.get_by_test_id("ephemeral").last.get_by_role("link", name="スレッドを開く").click()
    expect(sandbox.thread).to_contain_text("承知しました！ 15時 でお取りしますね 😄")

    sandbox.command("/friend tag:VIP")  # the seeded tag finds her
    expect(sandbox.channel.get_by_test_id("ephemeral").filter(has_text="tag:VIP").last).to_contain_text(friend)

    page.get_by_role("button", name="English").click()
    expect(page.get_by_test_id("thread-input")).to_have_attribute("placeholder", re.compile("Reply in thread"))
    expect(page.get_by_test_id("ephemeral").first).to_contain_text("Only visible to you")
    expect(page.get_by_test_id("line-read").first).to_have_text("Read")


def test_friend_message_becomes_a_thread_and_the_staff_reply_reaches_line(sandbox: Sandbox):
    name = sandbox.unique("テスト 一郎")
    sandbox.add_friend(name)
    sandbox.friend_says("明日の予約を15時に変更できますか？")

    parent = sandbox.parent(name)
    expect(parent).to_contain_text("LINE 友だち")
    expect(parent).to_contain_text("要対応")
    sandbox.open_thread(name)
    relayed = sandbox.thread.get_by_test_id("slack-message").filter(has_text="明日の予約を15時に変更できますか？")
    expect(relayed).to_contain_text(name)  # under the friend's name (and icon)

    sandbox.staff_says("承知しました！ *15時* でお取りしますね :smile:", shown="承知しました！ 15時 でお取りしますね 😄")
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_contain_text("承知しました！ 15時 でお取りしますね 😄")
    reply = sandbox.thread.get_by_test_id("slack-message").filter(has_text="承知しました")
    expect(reply.get_by_title(re.compile(":(free|1234):"))).to_be_visible()  # 🆓/🔢: LINE accepted it


def test_claim_by_reaction_shows_the_assignee_and_read_on_line(sandbox: Sandbox):
    name = sandbox.unique("既読 花子")
    sandbox.add_friend(name)
    sandbox.friend_says("届いていますか？")
    parent = sandbox.parent(name)
    expect(parent).to_contain_text("担当: 未割り当て")
    expect(sandbox.line.get_by_test_id("line-read")).to_have_count(0)

    sandbox.act_as("@鈴木")
    parent.get_by_title("リアクションを追加").click()
    sandbox.page.get_by_test_id("reaction-picker").locator("[data-reaction=raising_hand]").click()

    expect(parent).to_contain_text("担当: @鈴木")
    expect(sandbox.line.get_by_test_id("line-read")).to_have_text("既読")
    expect(sandbox.line.get_by_test_id("line-loading")).to_be_visible()  # staff took it: LINE's loading animation
    sandbox.open_thread(name)
    expect(sandbox.thread).to_contain_text("🙋 @鈴木 が担当になりました")
    sandbox.staff_says("確認しました。少々お待ちください。")
    expect(sandbox.line).to_contain_text("確認しました。少々お待ちください。")
    expect(sandbox.line.get_by_test_id("line-loading")).to_have_count(0)  # the reply ends the animation


def test_typing_and_claim_buttons_and_the_mark_select(sandbox: Sandbox):
    name = sandbox.unique("ボタン 次郎")
    sandbox.add_friend(name)
    sandbox.friend_says("商品が壊れていました")
    parent = sandbox.parent(name)
    parent.get_by_role("button", name="✍️ 返信を準備中").click()  # the friend sees LINE's loading animation
    expect(sandbox.line.get_by_test_id("line-loading")).to_be_visible()
    expect(sandbox.line.get_by_test_id("line-read")).to_have_count(0)
    parent.get_by_role("button", name="🙋 担当する").click()
    expect(parent).to_contain_text("担当: @佐藤")
    expect(sandbox.line.get_by_test_id("line-read")).to_have_text("既読")

    parent.locator("select[data-action-id=conv_mark]").select_option(label="クレーム")
    expect(parent).to_contain_text("😡 クレーム")


def test_an_internal_note_stays_in_slack(sandbox: Sandbox):
    name = sandbox.unique("メモ 三郎")
    sandbox.add_friend(name)
    sandbox.friend_says("駐車場はありますか？")
    sandbox.open_thread(name)

    sandbox.staff_says("// 社内メモ：常連さん、前回も駐車場の質問")
    note = sandbox.thread.get_by_test_id("slack-message").filter(has_text="社内メモ")
    expect(note.get_by_title(re.compile(":memo:"))).to_be_visible()  # 📝: kept, not sent
    sandbox.staff_says("はい、5台分ございます。")  # same thread, relayed after the note
    expect(sandbox.line).to_contain_text("はい、5台分ございます。")
    expect(sandbox.line).not_to_contain_text("社内メモ")
    expect(sandbox.line.get_by_test_id("line-bot-message")).to_have_count(1)


def test_pending_answers_only_the_person_who_asked(sandbox: Sandbox):
    name = sandbox.unique("一覧 四郎")
    sandbox.add_friend(name)
    sandbox.friend_says("営業時間を教えてください")
    sandbox.open_thread(name)  # what staff see: the message in its thread
    expect(sandbox.thread).to_contain_text("営業時間を教えてください")

    sandbox.command("/pending")
    answer = sandbox.channel.get_by_test_id("ephemeral").filter(has_text="/pending").last
    expect(answer).to_contain_text("あなただけに表示されています")
    expect(answer).to_contain_text(name)
    expect(answer).to_contain_text("営業時間を教えてください")

    sandbox.act_as("@田中")  # someone else does not see it
    expect(sandbox.channel.get_by_test_id("ephemeral")).to_have_count(0)
    sandbox.act_as("@guest (チャンネル外)")
    sandbox.command("/pending")
    expect(sandbox.channel.get_by_test_id("ephemeral")).to_contain_text("メンバーだけ")
    parent = sandbox.parent(name)
    parent.get_by_title("リアクションを追加").click()  # a non-member's 🙋 is refused in the app's DM
    sandbox.page.get_by_test_id("reaction-picker").locator("[data-reaction=raising_hand]").click()
    dm = sandbox.channel.get_by_test_id("ephemeral").filter(has_text="アプリからのダイレクトメッセージ")
    expect(dm).to_contain_text("メンバーだけ")
    expect(parent).to_contain_text("担当: 未割り当て")


def test_a_group_chat_shows_who_spoke(sandbox: Sandbox):
    a, b = sandbox.unique("グループ 甲"), sandbox.unique("グループ 乙")
    sandbox.add_friend(a)
    sandbox.add_friend(b)
    group = sandbox.unique("町内会")
    sandbox.page.get_by_role("button", name="＋グループ").click()
    sandbox.page.get_by_test_id("group-name").fill(group)
    sandbox.page.get_by_label(a, exact=True).check()
    sandbox.page.get_by_label(b, exact=True).check()
    sandbox.page.get_by_role("button", name="グループを作る").click()
    sandbox.page.locator("#line-sender").select_option(label=f"発言者: {b}")
    sandbox.friend_says("次の集まりはいつですか")

    expect(sandbox.parent(group)).to_contain_text("LINE グループ")
    sandbox.open_thread(group)
    expect(sandbox.thread.get_by_test_id("slack-message").filter(has_text="次の集まりはいつですか")).to_contain_text(b)


def test_the_message_shortcut_opens_the_modal_and_applies_it(sandbox: Sandbox):
    name = sandbox.unique("モーダル 五郎")
    sandbox.add_friend(name)
    sandbox.friend_says("見積もりをお願いできますか")
    sandbox.open_thread(name)
    relayed = sandbox.thread.get_by_test_id("slack-message").filter(has_text="見積もりをお願いできますか")
    relayed.get_by_title("会話の操作").click()

    modal = sandbox.page.get_by_test_id("modal")
    expect(modal).to_contain_text(name)
    modal.get_by_label("自分が担当する").check()
    modal.locator("select[data-aid=mark]").select_option(label="問い合わせ")
    modal.get_by_role("button", name="保存").click()
    expect(modal).to_be_hidden()
    parent = sandbox.parent(name)
    expect(parent).to_contain_text("担当: @佐藤")
    expect(parent).to_contain_text("問い合わせ")


def test_slash_commands_with_a_mention(sandbox: Sandbox):
    name = sandbox.unique("コマンド 六郎")
    sandbox.add_friend(name)
    sandbox.friend_says("返品したいです")
    parent = sandbox.parent(name)
    number = re.search(r"#(\d+) ", parent.inner_text()).group(1)
    sandbox.command(f"/assign {number} @suzuki")
    expect(parent).to_contain_text("担当: @鈴木")
    sandbox.command(f"/mark {number} 存在しないマーク")
    expect(sandbox.channel.get_by_test_id("ephemeral").last).to_contain_text("存在しないマーク")


def test_a_friend_who_blocks_the_account(sandbox: Sandbox):
    name = sandbox.unique("ブロック 七子")
    sandbox.add_friend(name)
    sandbox.friend_says("もう連絡しないでください")
    parent = sandbox.parent(name)
    # In Slack before the block: a blocked friend's LINE profile (their name) can no longer be read.
    expect(parent).to_contain_text("もう連絡しないでください")
    sandbox.page.get_by_test_id("line-pane").get_by_role("button", name="ブロック", exact=True).click()
    expect(sandbox.page.get_by_test_id("line-input")).to_be_disabled()
    expect(parent).to_contain_text("🚫 ブロック中")
    sandbox.open_thread(name)
    expect(sandbox.thread).to_contain_text("⛔ ブロックされました")
    sandbox.staff_says("失礼いたしました。")
    expect(sandbox.thread).to_contain_text("⚠️ LINE に送信できませんでした")
    reply = sandbox.thread.get_by_test_id("slack-message").filter(has_text="失礼いたしました。")
    expect(reply.get_by_title(re.compile(" :x:$"))).to_be_visible()  # ❌ on the reply that was not delivered
    expect(sandbox.line).not_to_contain_text("失礼いたしました。")


def test_an_image_from_the_friend_is_shown_in_the_thread(sandbox: Sandbox):
    name = sandbox.unique("写真 八郎")
    sandbox.add_friend(name)
    with sandbox.page.expect_file_chooser() as chooser:
        sandbox.page.get_by_title("image", exact=True).click()  # 🖼️ in the friend's composer
    chooser.value.set_files(files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png((230, 80, 40))}])
    loaded(sandbox.line.locator("img.photo"))  # the friend sees what they sent
    sandbox.open_thread(name)
    relayed = sandbox.thread.get_by_test_id("slack-message").filter(has_text="🖼️ 画像が送信されました")
    expect(relayed).to_contain_text(name)  # under the friend's name, with the uploaded file itself
    image = relayed.get_by_test_id("slack-file-image")
    loaded(image)
    expect(image).to_have_js_property("naturalHeight", 100)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sandbox.page.get_by_test_id("slack-pane").screenshot(path=SCREENSHOTS / "sandbox-media-slack.png")


def test_an_image_staff_attach_in_the_thread_reaches_the_friend(sandbox: Sandbox):
    name = sandbox.unique("写真 九子")
    sandbox.add_friend(name)
    sandbox.friend_says("お店の地図を送ってもらえますか")
    sandbox.open_thread(name)
    sandbox.act_as("@鈴木")
    sandbox.page.get_by_test_id("thread-input").fill("こちらが地図です")
    with sandbox.page.expect_file_chooser() as chooser:
        sandbox.page.get_by_test_id("thread-attach").click()
    chooser.value.set_files(files=[{"name": "地図.png", "mimeType": "image/png", "buffer": png((40, 120, 220))}])

    upload = sandbox.thread.get_by_test_id("slack-message").filter(has_text="こちらが地図です")
    expect(upload).to_contain_text("鈴木")  # posted as the chosen staff member, with the text typed so far
    loaded(upload.get_by_test_id("slack-file-image"))
    expect(sandbox.line.get_by_test_id("line-bot-message").filter(has_text="こちらが地図です")).to_be_visible()
    loaded(sandbox.line.get_by_test_id("line-bot-image"))  # the friend sees the picture in their chat
    expect(upload.get_by_title(re.compile(":(free|1234):"))).to_be_visible()  # 🆓/🔢: LINE accepted it
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sandbox.page.get_by_test_id("line-pane").screenshot(path=SCREENSHOTS / "sandbox-media-line.png")


def test_a_file_staff_attach_is_a_link_in_slack_and_on_line(sandbox: Sandbox):
    name = sandbox.unique("書類 十郎")
    sandbox.add_friend(name)
    sandbox.friend_says("見積書をください")
    sandbox.open_thread(name)
    with sandbox.page.expect_file_chooser() as chooser:
        sandbox.page.get_by_test_id("thread-attach").click()
    chooser.value.set_files(files=[{"name": "見積書.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 " + b"x" * 2048}])

    link = sandbox.thread.get_by_test_id("slack-file").filter(has_text="見積書.pdf")
    expect(link).to_contain_text("PDF · 2 KB")  # no text typed: just the file, as Slack shows it
    expect(sandbox.line.get_by_test_id("line-bot-message").filter(has_text="📎 見積書.pdf")).to_be_visible()


def test_a_second_account_has_its_own_friends_and_its_threads_name_it(sandbox):
    page = sandbox.page
    page.get_by_test_id("line-account").select_option(label="🏪 梅田店")
    name = sandbox.unique("梅田の友だち")
    sandbox.add_friend(name)
    sandbox.friend_says("駐車場はありますか？")
    expect(sandbox.parent(name)).to_contain_text("梅田店")       # the channel is shared: the parent names the account
    sandbox.open_thread(name)
    sandbox.staff_says("はい、5台分ございます")
    expect(sandbox.line.get_by_text("はい、5台分ございます")).to_be_visible()
    page.get_by_test_id("line-account").select_option(label="🏪 本店")
    expect(page.get_by_test_id("line-chat").locator("option", has_text=name)).to_have_count(0)   # not a friend of 本店
