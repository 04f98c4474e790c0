"""/history 12 [words], the parent's 📜 履歴 button, and a new thread when the old one is gone from
Slack's view (issue #18)."""
from __future__ import annotations

import io
import json
import re
import time
from dataclasses import replace
from urllib.parse import unquote

import requests
from PIL import Image

from bridge.history import links
from bridge.slack_ui.parent import ACTION_HISTORY
from tests.conftest import HANAKO, STAFF, STAFF2, TRIAGE, cid, wait_until
from tests.helpers import InProcess, open_thread

OUTSIDER = "UOUTSIDER1"
LINK = re.compile(r"<(http://127\.0\.0\.1/history/([^|?>#]+)[^|>]*)\|")


def token_of(text: str) -> tuple[str, str]:
    found = LINK.search(text)
    assert found, text
    return found.group(1), found.group(2)


def test_history_answers_a_member_privately_with_their_own_link(h):
    open_thread(h)
    number = h.conv(HANAKO).number
    answer = h.slack_sender.command("/history", f"#{number}", user_id=STAFF2, channel_id=TRIAGE).json()
    assert answer["response_type"] == "ephemeral"
    url, token = token_of(answer["text"])
    assert links.read_token(h.settings, token) == (cid(HANAKO), STAFF2)  # bound to the person who asked
    assert "24 時間" in answer["text"] and "共有しないでください" in answer["text"]
    assert not [m for m in h.slack.messages(TRIAGE) if "/history/" in (m.get("text") or "")]  # nothing public


def test_history_with_words_opens_the_page_at_the_matches(h):
    open_thread(h)
    number = h.conv(HANAKO).number
    text = h.slack_sender.command("/history", f"{number} 予約 変更", user_id=STAFF, channel_id=TRIAGE).json()["text"]
    url, _ = token_of(text)
    assert unquote(url).endswith("?q=予約 変更#hit-1")
    assert "「予約 変更」" in text


def test_history_refusals(h):
    open_thread(h)
    number = h.conv(HANAKO).number
    refused = h.slack_sender.command("/history", str(number), user_id=OUTSIDER, channel_id="COTHER01").json()["text"]
    assert "メンバー" in refused and "/history/" not in refused
    assert "使い方" in h.slack_sender.command("/history", "", user_id=STAFF, channel_id=TRIAGE).json()["text"]
    assert "使い方" in h.slack_sender.command("/history", "abc", user_id=STAFF, channel_id=TRIAGE).json()["text"]
    assert "#99999" in h.slack_sender.command("/history", "99999", user_id=STAFF, channel_id=TRIAGE).json()["text"]


def test_the_parents_history_button_answers_the_clicker_with_their_own_link(h):
    thread = open_thread(h)
    parent = h.slack.message(TRIAGE, thread)
    buttons = [e for b in parent["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert any(e.get("action_id") == ACTION_HISTORY and e["text"]["text"] == "📜 履歴" for e in buttons)
    h.slack_sender.block_action(STAFF2, TRIAGE, thread, ACTION_HISTORY)
    assert h.slack.wait_for(lambda s: s.ephemerals(TRIAGE, STAFF2))
    _, token = token_of(h.slack.ephemerals(TRIAGE, STAFF2)[-1]["text"])
    assert links.read_token(h.settings, token) == (cid(HANAKO), STAFF2)
    h.slack_sender.block_action(OUTSIDER, TRIAGE, thread, ACTION_HISTORY)
    assert h.slack.wait_for(lambda s: s.ephemerals(TRIAGE, OUTSIDER))
    assert "/history/" not in h.slack.ephemerals(TRIAGE, OUTSIDER)[-1]["text"]


def parents(ip) -> list[dict]:
    return [m for m in ip.slack.messages(TRIAGE) if not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")]


def test_a_friend_writing_after_the_thread_is_gone_from_view_opens_a_new_thread_linking_to_the_history(ip):
    ip.friend_says(HANAKO, "三月の予約をお願いします")
    first = ip.conv(HANAKO)
    assert len(parents(ip)) == 1
    old_ts = f"{time.time() - 86 * 86400:.6f}"  # the thread was started 86 days ago (default limit: 85)
    ip.store.bind_thread(first.conv_id, TRIAGE, old_ts)
    ip.friend_says(HANAKO, "また来月もお願いします")
    conv = ip.conv(HANAKO)
    assert conv.number == first.number and conv.thread_ts not in ("", old_ts) and conv.previous_thread_ts == old_ts
    new_parent = ip.slack.message(TRIAGE, conv.thread_ts)
    shown = json.dumps(new_parent["blocks"], ensure_ascii=False)
    assert f"#{first.number}" in shown and "また来月もお願いします" in shown and "三月の予約" not in shown
    assert "以前のスレッド" in shown and "📜 履歴" in shown
    assert any(e.get("action_id") == ACTION_HISTORY for b in new_parent["blocks"] if b["type"] == "actions"
               for e in b["elements"])
    assert len(parents(ip)) == 2                    # the old parent stays as it was; one new parent
    ip.friend_says(HANAKO, "よろしくお願いします")  # the next message goes into the new thread
    assert ip.conv(HANAKO).thread_ts == conv.thread_ts
    assert any("よろしくお願いします" in (m.get("text") or "") for m in ip.slack.messages(TRIAGE, conv.thread_ts))


def test_no_new_thread_while_young_enough_or_when_switched_off(ip, settings, line_emu, slack_emu):
    ip.friend_says(HANAKO, "こんにちは")
    conv = ip.conv(HANAKO)
    young = f"{time.time() - 80 * 86400:.6f}"
    ip.store.bind_thread(conv.conv_id, TRIAGE, young)
    ip.friend_says(HANAKO, "まだ同じスレッド")
    assert ip.conv(HANAKO).thread_ts == young and not ip.conv(HANAKO).previous_thread_ts

    off = InProcess(replace(settings, thread_max_age_days=0), line_emu, slack_emu)
    off.friend_says(HANAKO, "こんにちは")
    old = f"{time.time() - 400 * 86400:.6f}"
    off.store.bind_thread(cid(HANAKO), TRIAGE, old)
    off.friend_says(HANAKO, "0 は無効")
    assert off.conv(HANAKO).thread_ts == old


def test_a_real_conversation_appears_complete_and_in_order_on_the_page(h):
    """End to end: LINE → bridge → Slack and back, recorded by the archive, read through /history."""
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (10, 200, 30)).save(out, format="JPEG")
    photo = out.getvalue()
    h.friend_says(HANAKO, "<b>予約</b>の変更をお願いします")  # markup from LINE: text on the page
    thread = h.thread_of(HANAKO)
    assert h.send_line(h.webhooks.image(HANAKO, data=photo)).status_code == 200
    assert wait_until(lambda: len(h.thread_messages(thread)) >= 1)
    h.staff_says(thread, "// 常連さん")                        # an internal note
    h.staff_says(thread, "承知しました。何日にしますか？")
    assert wait_until(lambda: "承知しました。何日にしますか？" in h.line.delivered_texts(HANAKO))
    h.settle()
    number = h.conv(HANAKO).number
    url, _ = token_of(h.slack_sender.command("/history", str(number), user_id=STAFF, channel_id=TRIAGE).json()["text"])
    url = url.replace("http://127.0.0.1", h.url)
    html = requests.get(url, timeout=10).text
    order = ["&lt;b&gt;予約&lt;/b&gt;の変更をお願いします", 'data-testid="history-image"', "常連さん", "承知しました。何日にしますか？"]
    assert all(s in html for s in order), html[-3000:]
    assert [html.index(s) for s in order] == sorted(html.index(s) for s in order)
    assert "社内メモ" in html and "山田 花子" in html and "佐藤" in html
    image = re.search(r'<img src="(/history/[^"]+)"', html).group(1)
    # the photo is spooled by the relay and moved into the archive by a worker's ticker
    assert wait_until(lambda: requests.get(h.url + image, timeout=10).status_code == 200, timeout=20)
    assert requests.get(h.url + image, timeout=10).content == photo
