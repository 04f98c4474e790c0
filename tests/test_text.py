"""Tests for bridge.text: Slack mrkdwn → LINE text, LINE → Slack escaping, LINE limits."""
from __future__ import annotations

import pytest

from bridge.text.mrkdwn import escape as line_to_slack  # the one LINE → Slack escaper
from bridge.text import (
    batch,
    preview,
    mentioned_users,
    slack_to_line,
    split_for_line,
    utf16_len,
)

USERS = {"U0TANAKA": "田中 太郎", "U0ALICE": "Alice Smith", "W0ENTER": "Enterprise Ed"}
CHANNELS = {"C0GENERAL": "general", "C0SUPPORT": "サポート"}


def conv(text: str) -> str:
    return slack_to_line(text, USERS, CHANNELS)


# --- mentions -----------------------------------------------------------------


def test_user_mention_is_resolved_to_display_name():
    assert conv("<@U0TANAKA> さん、ご確認お願いします") == "@田中 太郎 さん、ご確認お願いします"
    assert conv("Thanks <@U0ALICE>!") == "Thanks @Alice Smith!"
    assert conv("cc <@W0ENTER>") == "cc @Enterprise Ed"


def test_the_names_to_look_up_are_the_bare_ids_of_the_mentions():
    assert mentioned_users("hi <@U0BOB|bob> and <@U0ANN>, <@U0BOB> again; <#C0GENERAL> <!here>") == ["U0BOB", "U0ANN"]
    assert slack_to_line("hi <@U0BOB|bob>", {"U0BOB": "Bob"}) == "hi @Bob"


def test_user_mention_falls_back_to_label_then_someone():
    assert conv("<@U0NOBODY|suzuki> 了解です") == "@suzuki 了解です"
    assert conv("<@U0NOBODY> 了解です") == "@someone 了解です"
    assert slack_to_line("<@U0X>", {"U0X": ""}) == "@someone"


def test_resolved_name_starting_with_at_is_not_doubled():
    assert slack_to_line("<@U1>", {"U1": "@sato"}) == "@sato"


def test_channel_mentions():
    assert conv("<#C0GENERAL|general> に投稿しました") == "#general に投稿しました"
    # Newer events send an empty label: the resolver is used.
    assert conv("see <#C0SUPPORT|>") == "see #サポート"
    assert conv("see <#C0SUPPORT>") == "see #サポート"
    assert slack_to_line("see <#C0SUPPORT>", USERS) == "see #channel"
    assert conv("see <#C0UNKNOWN>") == "see #channel"


def test_special_mentions():
    assert conv("<!here> 至急") == "@here 至急"
    assert conv("<!channel> heads up") == "@channel heads up"
    assert conv("<!everyone|@everyone> 全員へ") == "@everyone 全員へ"
    assert conv("<!here|here>") == "@here"


def test_usergroup_mention():
    assert conv("<!subteam^S0SUPPORT|@support-team> お願いします") == "@support-team お願いします"
    assert conv("<!subteam^S0SUPPORT|support-team>") == "@support-team"
    assert conv("<!subteam^S0SUPPORT>") == "@group"


def test_date_token_uses_fallback_text():
    text = "Due <!date^1392734382^{date_short} at {time}^https://example.com|Feb 18, 2014 6:39 AM PST>"
    assert conv(text) == "Due Feb 18, 2014 6:39 AM PST"
    # Without a fallback the timestamp is shown in UTC.
    assert conv("<!date^1392734382^{date_short}>") == "2014-02-18 14:39 UTC"


# --- links --------------------------------------------------------------------


def test_link_with_label():
    assert conv("詳しくは<https://example.com/faq|よくある質問>をご覧ください") == (
        "詳しくはよくある質問 (https://example.com/faq)をご覧ください"
    )


def test_link_whose_label_is_the_url_is_shown_once():
    assert conv("<https://example.com/a|https://example.com/a>") == "https://example.com/a"
    assert conv("<https://example.com|example.com>") == "https://example.com"
    assert conv("<http://www.example.com/|www.example.com>") == "http://www.example.com/"


def test_bare_link():
    assert conv("open <https://example.com/path?q=1>") == "open https://example.com/path?q=1"


def test_mailto_and_tel_links():
    assert conv("mail <mailto:help@example.com|help@example.com>") == "mail help@example.com"
    assert conv("<mailto:help@example.com|サポート窓口>") == "サポート窓口 (help@example.com)"
    assert conv("<tel:+81-3-1234-5678|お電話>") == "お電話"
    assert conv("<tel:+81-3-1234-5678>") == "+81-3-1234-5678"


def test_entities_in_link_label_and_url():
    text = "<https://example.com/search?a=1&amp;b=2|Q&amp;A &lt;FAQ&gt;>"
    assert conv(text) == "Q&A <FAQ> (https://example.com/search?a=1&b=2)"


def test_link_with_underscores_and_colons_is_not_formatted_or_emojified():
    text = "<https://example.com:8080/a_b_c/:smile:/x*y*z>"
    assert conv(text) == "https://example.com:8080/a_b_c/:smile:/x*y*z"


def test_link_inside_bold():
    assert conv("*Please read <https://example.com/terms|the terms>*") == (
        "Please read the terms (https://example.com/terms)"
    )
    assert conv("*<https://example.com|example.com>*") == "https://example.com"


def test_mention_inside_bold():
    assert conv("*<@U0ALICE>* is on it") == "@Alice Smith is on it"


# --- emoji ----------------------------------------------------------------------


def test_standard_emoji_shortcodes():
    assert conv("ありがとうございます :pray: :tada:") == "ありがとうございます 🙏 🎉"
    assert conv(":heart: :fire: :100:") == "❤️ 🔥 💯"


def test_slack_specific_emoji_names():
    assert conv(":simple_smile:") == "🙂"
    assert conv(":+1: :thumbsup: :-1:") == "👍 👍 👎"
    assert conv(":white_check_mark: done") == "✅ done"
    assert conv(":the_horns: :large_green_circle:") == "🤘 🟢"
    assert conv(":flag-jp: :jp:") == "🇯🇵 🇯🇵"
    assert conv(":man-shrugging:") == "🤷\u200d♂️"
    assert conv(":male-technologist:") == "👨\u200d💻"
    assert conv(":man-woman-boy:") == "👨\u200d👩\u200d👦"
    assert conv(":flag-england:") == "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


def test_skin_tones():
    assert conv(":wave::skin-tone-2:") == "👋🏻"
    assert conv(":+1::skin-tone-6:") == "👍🏿"
    # The variation selector of ✌️ is replaced by the modifier.
    assert conv(":v::skin-tone-4:") == "✌🏽"
    # In a ZWJ sequence the modifier follows the first code point.
    assert conv(":man-shrugging::skin-tone-3:") == "🤷🏼\u200d♂️"


def test_unknown_custom_emoji_is_kept():
    assert conv("nice :party_parrot: :our_logo_v2:") == "nice :party_parrot: :our_logo_v2:"
    # Underscores of a custom emoji are not italics markers.
    assert conv(":_x_:") == ":_x_:"
    assert conv(":custom::skin-tone-2:") == ":custom::skin-tone-2:"


def test_times_and_ratios_are_not_emoji():
    assert conv("12:30:45 に開始、比率 1:100:1") == "12:30:45 に開始、比率 1:100:1"
    assert conv("a:ok:b") == "a:ok:b"


def test_shortcode_right_after_japanese_text_converts():
    assert conv("了解です:ok_hand:") == "了解です👌"


def test_consecutive_shortcodes():
    assert conv(":tada::tada::unknown:") == "🎉🎉:unknown:"


# --- entities -------------------------------------------------------------------


def test_entities_are_unescaped():
    assert conv("A &amp; B &lt;3 &gt;_&lt;") == "A & B <3 >_<"


def test_literal_markup_typed_by_user_stays_literal():
    assert slack_to_line("type &lt;@U1&gt; or &lt;!here&gt;", {"U1": "X"}) == "type <@U1> or <!here>"
    assert mentioned_users("type &lt;@U1&gt; or &lt;!here&gt;") == []  # no name looked up


def test_entity_unescape_is_single_pass():
    assert conv("&amp;lt; &amp;amp;") == "&lt; &amp;"


def test_other_entities_are_not_touched():
    assert conv("&quot;hi&quot; &#39;x&#39; &nbsp;") == "&quot;hi&quot; &#39;x&#39; &nbsp;"


# --- formatting -----------------------------------------------------------------


def test_bold_italic_strike_removed():
    assert conv("This is *important*, _really_ ~not~ now.") == "This is important, really not now."
    assert conv("*I am _very_ excited*") == "I am very excited"
    assert conv("_*both*_ and *_both_*") == "both and both"


def test_markers_inside_words_are_literal():
    assert conv("snake_case_name and 2*3*4 and file~1~2") == "snake_case_name and 2*3*4 and file~1~2"


def test_markers_with_space_inside_are_literal():
    assert conv("* not bold * and _ nor this _") == "* not bold * and _ nor this _"
    assert conv("5 * 3 = 15, 2 * 4 = 8") == "5 * 3 = 15, 2 * 4 = 8"


def test_formatting_does_not_span_lines():
    assert conv("*first\nsecond*") == "*first\nsecond*"


def test_japanese_formatting_rule():
    # Slack formats only at non-letter boundaries; CJK characters are letters, so
    # "これは*重要*です" shows the asterisks in Slack too and is kept as is.
    assert conv("これは*重要*です") == "これは*重要*です"
    assert conv("これは *重要* です") == "これは 重要 です"
    assert conv("「*重要*」をご確認ください。") == "「重要」をご確認ください。"
    assert conv("*重要*：明日は休業です") == "重要：明日は休業です"
    assert conv("~キャンセル~ 予定どおり") == "キャンセル 予定どおり"


def test_japanese_tilde_ranges_are_not_strikethrough():
    assert conv("営業時間は月~金、土~日は休み") == "営業時間は月~金、土~日は休み"
    assert conv("9:00~18:00 です") == "9:00~18:00 です"


# --- code -----------------------------------------------------------------------


def test_inline_code_is_verbatim():
    assert conv("run `rm *.tmp :smile: _x_` now") == "run rm *.tmp :smile: _x_ now"


def test_inline_code_unescapes_entities():
    assert conv("use `a &amp;&amp; b &lt; c`") == "use a && b < c"


def test_code_fence_is_removed_and_content_kept():
    text = "ログです:\n```\nERROR *x* :fire:\n  at main() -&gt; 1\n```\n以上"
    assert conv(text) == "ログです:\nERROR *x* :fire:\n  at main() -> 1\n以上"
    assert conv("```one line```") == "one line"


def test_links_inside_code_are_rendered():
    # A raw "<" is always Slack markup, also inside code.
    assert conv("```curl <https://api.example.com/v1>```") == "curl https://api.example.com/v1"


def test_unclosed_code_is_left_alone():
    assert conv("a ``` b") == "a ``` b"
    assert conv("it`s") == "it`s"


# --- blockquotes ----------------------------------------------------------------


def test_blockquote_lines():
    assert conv("&gt; 先日の件\n承知しました") == "> 先日の件\n承知しました"
    assert conv("&gt;no space") == "> no space"


def test_multiline_blockquote_quotes_rest():
    assert conv("&gt;&gt;&gt; line one\nline two") == "> line one\n> line two"


def test_greater_than_mid_line_is_not_a_quote():
    assert conv("a &gt; b") == "a > b"


def test_realistic_support_reply():
    text = (
        "<@U0TANAKA> 様\nお問い合わせありがとうございます :bow:\n"
        "*ご注文番号*: `A-1234`\n"
        "配送状況は<https://example.com/track?id=A-1234&amp;lang=ja|こちら>からご確認いただけます。\n"
        "&gt; 届かないのですが\n"
        "本日発送済みです :truck: :white_check_mark:"
    )
    assert conv(text) == (
        "@田中 太郎 様\nお問い合わせありがとうございます 🙇\n"
        "ご注文番号: A-1234\n"
        "配送状況はこちら (https://example.com/track?id=A-1234&lang=ja)からご確認いただけます。\n"
        "> 届かないのですが\n"
        "本日発送済みです 🚚 ✅"
    )


# --- LINE → Slack ---------------------------------------------------------------


def test_line_to_slack_escapes_control_characters():
    assert line_to_slack("A & B <tag> 1 > 0") == "A &amp; B &lt;tag&gt; 1 &gt; 0"
    # "&" is escaped first, so a typed entity survives literally.
    assert line_to_slack("&lt;") == "&amp;lt;"


def test_line_to_slack_cannot_inject_markup():
    out = line_to_slack("<!channel> <@U123> <https://evil.example|bank>")
    assert "<" not in out and ">" not in out


def test_line_to_slack_defuses_broadcast_mentions():
    zw = "\u200b"
    assert line_to_slack("@channel 見て") == f"@{zw}channel 見て"
    assert line_to_slack("@HERE!") == f"@{zw}HERE!"
    assert line_to_slack("みんな@everyoneへ") == f"みんな@{zw}everyoneへ"
    assert line_to_slack("@here確認") == f"@{zw}here確認"


def test_line_to_slack_leaves_other_at_signs():
    assert line_to_slack("mail info@here.com or @heresy, @channels") == (
        "mail info@here.com or @heresy, @channels"
    )


def test_line_to_slack_keeps_emoji_and_newlines():
    text = "こんにちは😊\n👨‍👩‍👧 家族で伺います\r\n:smile:"
    assert line_to_slack(text) == text


def test_round_trip_plain_text():
    text = "価格 < 1000円 & 送料 > 0円？\n\"quotes\" 'ok' 😀"
    assert slack_to_line(line_to_slack(text), USERS) == text


def test_round_trip_gives_line_a_defused_broadcast_word_back_whole():
    text = "@channel と @Here と info@here.com"
    assert slack_to_line(line_to_slack(text), USERS) == text


# --- UTF-16 length --------------------------------------------------------------


def test_utf16_len():
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("日本語") == 3
    assert utf16_len("🍎") == 2
    assert utf16_len("𠮷野家") == 4  # 𠮷 is outside the BMP
    assert utf16_len("👨‍👩‍👧") == 8


# --- split_for_line -------------------------------------------------------------


def _check_chunks(text: str, chunks: list[str], limit: int) -> None:
    assert chunks, "no chunks"
    assert all(chunk for chunk in chunks)
    assert all(utf16_len(chunk) <= limit for chunk in chunks)
    assert "".join(chunks) == text


def test_short_text_is_one_chunk():
    assert split_for_line("こんにちは") == ["こんにちは"]
    text = "x" * 5000
    assert split_for_line(text) == [text]


def test_empty_and_whitespace_text():
    assert split_for_line("") == []
    assert split_for_line(" \n\u3000\t") == []


def test_split_exactly_at_the_limit():
    text = "a" * 5001
    chunks = split_for_line(text)
    assert [len(c) for c in chunks] == [5000, 1]


def test_10001_chars_with_emoji_crossing_the_boundary():
    # 4999 kana + 😀 (units 5000-5001) + more: the emoji must move to chunk 2 whole.
    text = "あ" * 4999 + "😀" + "い" * 5001
    assert len(text) == 10001
    chunks = split_for_line(text)
    _check_chunks(text, chunks, 5000)
    assert chunks[0] == "あ" * 4999
    assert chunks[1].startswith("😀")
    assert all("\ud83d" not in c for c in chunks)


def test_only_surrogate_pairs():
    text = "😀" * 3000  # 6000 units
    chunks = split_for_line(text)
    _check_chunks(text, chunks, 5000)
    assert [len(c) for c in chunks] == [2500, 500]
    odd = split_for_line(text, limit=4999)
    _check_chunks(text, odd, 4999)
    assert [utf16_len(c) for c in odd] == [4998, 1002]


def test_zwj_sequence_is_not_split():
    family = "👨\u200d👩\u200d👧"  # 8 units
    text = "a" * 4995 + family + "b"
    chunks = split_for_line(text)
    _check_chunks(text, chunks, 5000)
    assert chunks == ["a" * 4995, family + "b"]


def test_flag_is_not_split():
    text = "a" * 4998 + "🇯🇵" + "🇺🇸"
    chunks = split_for_line(text)
    _check_chunks(text, chunks, 5000)
    # "a"*4998 + "🇯" would fit exactly, but would cut the flag in half.
    assert chunks == ["a" * 4998, "🇯🇵🇺🇸"]


def test_skin_tone_and_keycap_and_combining_marks_are_not_split():
    assert split_for_line("aaa👍🏻", limit=5) == ["aaa", "👍🏻"]
    assert split_for_line("aaaa1\ufe0f\u20e3", limit=5) == ["aaaa", "1\ufe0f\u20e3"]
    # か + combining voiced sound mark (= が) stays together.
    assert split_for_line("abcdか\u3099", limit=5) == ["abcd", "か\u3099"]


def test_crlf_is_not_split():
    assert split_for_line("abcd\r\nef", limit=5) == ["abcd", "\r\nef"]


def test_prefers_newline():
    para1 = "最初の段落です。" * 10  # 80 chars
    para2 = "二つ目の段落です。" * 10  # 90 chars
    text = para1 + "\n" + para2
    chunks = split_for_line(text, limit=120)
    _check_chunks(text, chunks, 120)
    assert chunks == [para1 + "\n", para2]


def test_prefers_whitespace_then_japanese_punctuation():
    words = "word " * 30  # 150 chars
    chunks = split_for_line(words.strip(), limit=52)
    _check_chunks(words.strip(), chunks, 52)
    assert all(c.endswith(" ") for c in chunks[:-1])
    assert chunks[0] == "word " * 10

    text = "これはテストです。" * 20  # 180 chars, no spaces
    chunks = split_for_line(text, limit=100)
    _check_chunks(text, chunks, 100)
    assert chunks[0] == "これはテストです。" * 11
    assert all(c.endswith("。") for c in chunks)


def test_newline_far_before_the_limit_is_not_used():
    # Cutting at the early newline would produce a tiny chunk; a later space wins.
    text = "hi\n" + "word " * 40
    chunks = split_for_line(text, limit=100)
    _check_chunks(text, chunks, 100)
    assert len(chunks[0]) > 50


def test_hard_cut_without_break_opportunity():
    text = "x" * 250
    chunks = split_for_line(text, limit=100)
    assert [len(c) for c in chunks] == [100, 100, 50]


def test_whitespace_only_chunks_are_dropped():
    text = "a" * 10 + " " * 10
    assert split_for_line(text, limit=10) == ["a" * 10]


def test_large_realistic_message():
    line = "ご注文ありがとうございます🙏 発送は明日の予定です。Thanks for your order!\n"
    text = line * 300
    chunks = split_for_line(text)
    _check_chunks(text, chunks, 5000)
    assert all(c.endswith("\n") for c in chunks)


def test_limit_must_fit_an_astral_character():
    with pytest.raises(ValueError):
        split_for_line("abc", limit=1)


# --- batch ----------------------------------------------------------------------


def test_batch():
    assert batch(list(range(12))) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    assert batch([1, 2, 3], size=3) == [[1, 2, 3]]
    assert batch([]) == []
    with pytest.raises(ValueError):
        batch([1], size=0)


# --- preview --------------------------------------------------------------------


def test_preview_flattens_newlines():
    assert preview("お世話になっております。\n\n注文の件です  ") == "お世話になっております。 注文の件です"


def test_preview_truncates_with_ellipsis():
    text = "a" * 100
    out = preview(text, width=60)
    assert len(out) == 60
    assert out == "a" * 59 + "…"
    assert preview("a" * 60, width=60) == "a" * 60


def test_preview_does_not_cut_an_emoji_sequence():
    family = "👨\u200d👩\u200d👧"
    out = preview("ab" + family + "cdefgh", width=5)
    assert out == "ab…"
