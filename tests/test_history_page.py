"""The history page (issue #18): a signed, personal link to a readable page of one conversation,
served by the web process. Drives the real web app over HTTP, with Redis, the media archive and
the Slack emulator (membership)."""
from __future__ import annotations

import io
import re
import time
import uuid
from html import unescape
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from bridge.archive import entry as E
from bridge.history import links
from bridge.model import Conversation
from bridge.store.messages import transcript_add
from tests.conftest import STAFF, STAFF2, TRIAGE
from tests.helpers import procfile_web

OUTSIDER = "UOUTSIDER1"
T0 = 1767225600.0  # 2026-01-01 00:00 UTC = 09:00 in Tokyo


def png(color=(200, 40, 40), size=(160, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture()
def rt(bridge_server):
    return bridge_server.server.app.config["BRIDGE_RUNTIME"]


def new_conversation(rt, name="山田 花子") -> Conversation:
    line_id = "U" + uuid.uuid4().hex
    conv, _ = rt.store.ensure_conversation(Conversation(
        conv_id=f"default:{line_id}", source_type="user", number=0, line_id=line_id, name=name, channel=TRIAGE,
        created_at=T0))
    return conv


def add(rt, conv, entry):
    transcript_add(rt.store, conv.conv_id, entry["t"], entry)


@pytest.fixture()
def conversation(rt):
    """A conversation of every kind of entry, in the archive's schema, plus an old-style entry."""
    conv = new_conversation(rt)
    photo = rt.archive.put(png(), "image/png", "photo.png")
    pdf = rt.archive.put(b"%PDF-1.4 receipt", "application/pdf", "領収書.pdf")
    add(rt, conv, {"t": T0 + 60, "dir": "in", "author": conv.line_id, "name": "山田 花子", "kind": "text",
                   "text": "予約の変更をお願いします", "line_message_id": "100", "slack_ts": "1.1"})  # old entry: no id
    add(rt, conv, E.make("line:101", T0 + 120, "in", "image", author=conv.line_id, name="山田 花子", text="",
                         media=[photo]))
    add(rt, conv, E.make("slack:C:2.2", T0 + 180, "note", "note", author=STAFF, name="佐藤", text="常連さんです"))
    add(rt, conv, E.make("event:op1", T0 + 200, "event", "mark", author=STAFF, name="佐藤", text=":eyes: 対応中"))
    add(rt, conv, E.make("slack:C:3.3", T0 + 240, "out", "text", author=STAFF, name="佐藤", text="承知しました。何日にしますか？",
                         via="reply", status="sent"))
    add(rt, conv, E.make("line:102", T0 + 86400 + 60, "in", "file", author=conv.line_id, name="山田 花子",
                         text="📎 領収書.pdf", media=[pdf]))
    add(rt, conv, E.make("auto:reminder:x", T0 + 86400 + 120, "auto", "reminder", text="ご返信をお待ちしています", via="push",
                         status="failed"))
    add(rt, conv, E.unsent(E.make("line:103", T0 + 86400 + 180, "in", "text", author=conv.line_id, name="山田 花子",
                                  text="消したい内容")))
    add(rt, conv, {"t": T0 + 86400 + 240, "dir": "out", "author": STAFF2, "name": "suzuki", "kind": "text",
                   "text": "レシートです", "slack_ts": "4.4", "line_message_id": "",
                   "files": ["https://example.slack.com/files/U1/F1/receipt.png"]})  # before the archive: a Slack link
    return conv, photo, pdf


def page_url(bridge_server, settings, conv, user=STAFF, query="") -> str:
    url = links.history_url(settings, conv.conv_id, user, query)
    return bridge_server.url + url[len(settings.public_base_url.rstrip("/")):]


def visible_text(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_page_shows_the_conversation_in_order_with_names_days_media_notes_and_events(bridge_server, settings, conversation):
    conv, photo, pdf = conversation
    resp = requests.get(page_url(bridge_server, settings, conv), timeout=10)
    assert resp.status_code == 200
    html, text = resp.text, visible_text(resp.text)
    assert f"#{conv.number} 山田 花子" in text
    order = ["予約の変更をお願いします", "常連さんです", "対応中", "承知しました", "領収書.pdf", "ご返信をお待ちしています",
             "送信取り消しされました", "レシートです"]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    assert "2026年1月1日（木）" in text and "2026年1月2日（金）" in text  # day separators, in the account's time zone
    assert text.index("2026年1月2日") > text.index("承知しました")
    assert "09:01" in text                                             # Tokyo time
    assert "2026-01-01 〜 2026-01-02 の 9 件 / 全 9 件（Asia/Tokyo）" in text   # the range shown: all of it
    assert 'data-testid="history-older"' not in html and 'data-testid="history-newer"' not in html
    assert "社内メモ" in text and "返信待ちリマインダー" in text and "送信失敗" in text and "プッシュ" in text
    assert "佐藤: マークを「対応中」に変更" in text                     # an event, compact (Slack's emoji code dropped)
    assert "消したい内容" not in html                                   # unsent: only that it was unsent
    assert f"/media/{photo['sha256']}" in html and 'data-testid="history-image"' in html
    assert f"/media/{pdf['sha256']}?download=1" in html                 # a file is a link
    assert "https://example.slack.com/files/U1/F1/receipt.png" in html  # an old entry's Slack file link
    assert resp.headers["Referrer-Policy"] == "no-referrer" and "no-store" in resp.headers["Cache-Control"]


def test_the_pages_images_come_from_the_archive_and_only_its_own(bridge_server, settings, rt, conversation):
    conv, photo, pdf = conversation
    base = page_url(bridge_server, settings, conv)
    image = requests.get(f"{base}/media/{photo['sha256']}", timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png" and image.content == png()
    download = requests.get(f"{base}/media/{pdf['sha256']}?download=1", timeout=10)
    assert download.content == b"%PDF-1.4 receipt"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''{quote('領収書.pdf')}"
    other = new_conversation(rt, "別の人")
    secret = rt.archive.put(png((0, 0, 255)), "image/png")
    add(rt, other, E.make("line:900", T0, "in", "image", author=other.line_id, media=[secret]))
    assert requests.get(f"{base}/media/{secret['sha256']}", timeout=10).status_code == 404  # another chat's photo
    assert requests.get(f"{base}/media/{'0' * 64}", timeout=10).status_code == 404
    assert requests.get(f"{base}/media/..%2F..%2Fetc%2Fpasswd", timeout=10).status_code == 404


def test_every_string_from_line_is_text_never_markup(bridge_server, settings, rt):
    conv = new_conversation(rt, name="<b>名前</b>")
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)"> & "quotes"'
    add(rt, conv, E.make("line:1", T0, "in", "text", author=conv.line_id, name="<i>x</i>", text=attack))
    add(rt, conv, E.make("line:2", T0 + 1, "in", "file", author=conv.line_id, name="x",
                         media=[{"sha256": "a" * 64, "type": "text/html", "size": 3, "name": '"><script>x</script>'}]))
    resp = requests.get(page_url(bridge_server, settings, conv), timeout=10)
    assert "<script>" not in resp.text and "<img src=x" not in resp.text and "<b>名前" not in resp.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in resp.text
    assert attack in visible_text(resp.text)
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_search_opens_the_page_at_the_matches(bridge_server, settings, rt):
    conv = new_conversation(rt)
    for i, text in enumerate(["予約したいです", "こんにちは", "予約は明日で", "ありがとう"]):
        add(rt, conv, E.make(f"line:{i}", T0 + i * 60, "in", "text", author=conv.line_id, name="花子", text=text))
    url = page_url(bridge_server, settings, conv, query="予約")
    assert url.endswith("?q=" + quote("予約") + "#hit-1")
    html = requests.get(url, timeout=10).text
    assert "「予約」: 2 件" in visible_text(html)
    assert html.count("<mark>予約</mark>") == 2 and 'id="hit-1"' in html and 'id="hit-2"' in html
    assert 'href="#hit-2"' in html                                # from the first match to the next
    assert "<mark>" not in html.split("こんにちは")[0].rsplit("<article", 1)[-1]


def test_old_and_empty_conversations_render(bridge_server, settings, rt):
    conv = new_conversation(rt)
    resp = requests.get(page_url(bridge_server, settings, conv), timeout=10)
    assert resp.status_code == 200 and "まだ記録されたメッセージはありません" in visible_text(resp.text)
    add(rt, conv, {"t": T0, "dir": "in", "author": conv.line_id, "name": "花子", "kind": "image", "text": "🖼️ 画像",
                   "line_message_id": "1", "slack_ts": "1.1", "files": ["javascript:alert(1)"]})
    rt.store.update_conversation(conv.conv_id, history_since=repr(T0))  # migrated: says where its history starts
    resp = requests.get(page_url(bridge_server, settings, conv), timeout=10)
    assert resp.status_code == 200 and "🖼️ 画像" in resp.text and "javascript:" not in resp.text
    assert "この会話の記録は 2026-01-01 からです" in visible_text(resp.text)


def test_the_page_speaks_english_when_the_bridge_does():
    from zoneinfo import ZoneInfo

    from bridge.history.render import page_html
    from bridge.history.view import build

    entries = [E.make("line:1", T0, "in", "text", author="U1", name="Hanako", text="booking please"),
               E.make("event:1", T0 + 5, "event", "assignee", author=STAFF, name="Sato", text="Sato"),
               E.make("auto:1", T0 + 9, "auto", "autoreply", text="We are closed", via="reply", status="sent")]
    view = build(entries, tz=ZoneInfo("Asia/Tokyo"), lang="en", query="BOOKING")
    text = visible_text(page_html(view, title="#1 Hanako", summary="", query="BOOKING", self_url="/h", lang="en"))
    assert "Thu 1 Jan 2026" in text and "assigned to Sato" in text and "auto-reply" in text
    assert "Bridge (automatic)" in text and "“BOOKING”: 1 found" in text


def test_history_settings_are_validated(bridge_env):
    from bridge.settings import Settings, SettingsError

    assert Settings.from_env(bridge_env).thread_max_age_days == 85
    assert Settings.from_env({**bridge_env, "BRIDGE_THREAD_MAX_AGE_DAYS": "0"}).thread_max_age_days == 0
    assert Settings.from_env(bridge_env).history_page_size == 200
    assert Settings.from_env({**bridge_env, "BRIDGE_HISTORY_PAGE_SIZE": "50"}).history_page_size == 50
    for name, bad in (("BRIDGE_THREAD_MAX_AGE_DAYS", "-1"), ("BRIDGE_THREAD_MAX_AGE_DAYS", "ninety"),
                      ("BRIDGE_HISTORY_PAGE_SIZE", "0"), ("BRIDGE_HISTORY_PAGE_SIZE", "100000"),
                      ("BRIDGE_HISTORY_LINK_TTL", "10"), ("BRIDGE_HISTORY_LINK_TTL", str(31 * 86400))):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**bridge_env, name: bad})


def test_a_link_is_refused_to_anyone_but_a_member_with_a_clear_page(bridge_server, settings, rt, slack_emu, conversation):
    conv, photo, _ = conversation
    outsider = requests.get(page_url(bridge_server, settings, conv, user=OUTSIDER), timeout=10)
    assert outsider.status_code == 403 and "権限がありません" in outsider.text and "予約" not in outsider.text
    assert requests.get(page_url(bridge_server, settings, conv, user=OUTSIDER) + f"/media/{photo['sha256']}",
                        timeout=10).status_code == 403
    tampered = page_url(bridge_server, settings, conv)[:-3] + "xyz"
    assert requests.get(tampered, timeout=10).status_code == 404
    gone = requests.get(page_url(bridge_server, settings, Conversation("default:Unobody", "user", 0)), timeout=10)
    assert gone.status_code == 404 and "使えません" in gone.text
    # STAFF2 leaves the triage channel: once the member list is read again, their link stops working
    url = page_url(bridge_server, settings, conv, user=STAFF2)
    assert requests.get(url, timeout=10).status_code == 200
    slack_emu.add_channel(TRIAGE, "line-triage", members=[STAFF, "UBOT"])
    try:
        rt.store.r.delete(rt.keys.channel_members(channel=TRIAGE))  # the 5-minute member cache runs out
        refused = requests.get(url, timeout=10)
        assert refused.status_code == 403 and "メンバーだけ" in refused.text
    finally:
        slack_emu.add_channel(TRIAGE, "line-triage", members=[STAFF, STAFF2, "UBOT"])
        rt.store.r.delete(rt.keys.channel_members(channel=TRIAGE))


def test_an_expired_link_is_refused(bridge_server, settings, conversation):
    conv, _, _ = conversation
    old = links.make_token(settings, conv.conv_id, STAFF, signed_at=time.time() - settings.history_link_ttl - 5)
    resp = requests.get(f"{bridge_server.url}/history/{old}", timeout=10)
    assert resp.status_code == 410 and "有効期限" in resp.text and "/history" in resp.text
    fresh = links.make_token(settings, conv.conv_id, STAFF, signed_at=time.time() - settings.history_link_ttl + 60)
    assert requests.get(f"{bridge_server.url}/history/{fresh}", timeout=10).status_code == 200


def test_tokens_name_the_conversation_and_the_person(settings):
    token = links.make_token(settings, "default:U1", STAFF)
    assert links.read_token(settings, token) == ("default:U1", STAFF)
    with pytest.raises(links.HistoryLinkInvalid) as bad:
        links.read_token(settings, token.replace(token[-5:], "AAAAA"))
    assert not bad.value.expired
    from bridge.media.sign import media_url
    media_token = media_url(settings, "F1", "orig").split("/media/")[1]
    with pytest.raises(links.HistoryLinkInvalid):  # a /media token is no history token (another salt)
        links.read_token(settings, media_token)


def test_the_access_log_never_shows_a_history_link():
    from bridge.gunicorn_conf import redact

    line = 'GET /history/WyJkZWZhdWx0OlUxIl0.ZzZ.abc/media/' + "a" * 64 + '?q=%E4%BA%88%E7%B4%84 HTTP/1.1" 200'
    shown = redact(line)
    assert "WyJk" not in shown and "%E4" not in shown and "a" * 64 not in shown and "/history/[redacted]" in shown


def test_gunicorn_access_log_never_shows_a_history_link_or_its_search(bridge_env, settings, rt, conversation):
    """The Procfile's web process itself: the page is served, its link and search words never logged."""
    conv, photo, _ = conversation
    token = links.make_token(settings, conv.conv_id, STAFF)
    with procfile_web(bridge_env) as web:
        page = requests.get(f"{web.base}/history/{token}", params={"q": "予約の変更"}, timeout=10)
        assert page.status_code == 200 and "<mark>予約の変更</mark>" in page.text
        assert requests.get(f"{web.base}/history/{token}/media/{photo['sha256']}", timeout=10).status_code == 200
    assert web.output.count("/history/[redacted]") >= 2, web.output
    assert token[:20] not in web.output and quote("予約") not in web.output and "予約" not in web.output, web.output
