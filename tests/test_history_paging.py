"""The history page of a long conversation is paged: newest page first (200 entries), with links
to older and newer pages that keep the signed link, a line saying which range is shown, day
headers on every page, and a clear refusal of a damaged page link. Drives the real web app over
HTTP with Redis and the Slack emulator (membership), as tests/test_history_page.py."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import requests

from bridge.archive import entry as E
from bridge.store.history import transcript_window
from bridge.store.messages import transcript_add_many
from tests.test_history_page import T0, new_conversation, page_url, png, visible_text

HOUR = 3600.0
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture()
def rt(bridge_server):
    return bridge_server.server.app.config["BRIDGE_RUNTIME"]


def at(i: int) -> float:
    """Message i (1-based) of a long conversation: one every 3 hours, 8 a day."""
    return T0 + (i - 1) * 3 * HOUR


def long_conversation(rt, count: int, text=lambda i: f"msg {i:03d}"):
    conv = new_conversation(rt)
    entries = [E.make(f"line:{i}", at(i), "in" if i % 2 else "out", "text", author=conv.line_id,
                      name="山田 花子" if i % 2 else "佐藤", text=text(i)) for i in range(1, count + 1)]
    transcript_add_many(rt.store, [(conv.conv_id, e) for e in entries])
    return conv


def shown(html: str) -> list[int]:
    """The numbers of the messages the page shows, in order."""
    return [int(n) for n in re.findall(r"msg (\d{3})", visible_text(html))]


def link(html: str, which: str) -> str | None:
    found = re.search(rf'<a class="\w+" href="([^"]+)" rel="\w+" data-testid="history-{which}"', html)
    return unescape(found.group(1)) if found else None


def day(i: int) -> str:
    d = dt.datetime.fromtimestamp(at(i), TOKYO)
    return f"{d.year}年{d.month}月{d.day}日（{'月火水木金土日'[d.weekday()]}）"


def test_a_long_conversation_opens_at_its_newest_page_and_pages_back_to_the_first(bridge_server, settings, rt):
    conv = long_conversation(rt, 450)
    url = page_url(bridge_server, settings, conv)
    first = requests.get(url, timeout=30)
    assert first.status_code == 200
    html = first.text
    assert shown(html) == list(range(251, 451))                      # the newest 200, oldest first
    assert html.count('data-testid="history-message"') == 200
    start, end = (dt.datetime.fromtimestamp(at(i), TOKYO).strftime("%Y-%m-%d") for i in (251, 450))
    assert f"{start} 〜 {end} の 200 件 / 全 450 件（Asia/Tokyo）" in visible_text(html)
    assert "← 前のメッセージ" in visible_text(html) and link(html, "newer") is None

    older = link(html, "older")
    assert older.startswith(url[len(bridge_server.url):] + "?before=")         # the same signed link
    second = requests.get(bridge_server.url + older, timeout=30).text
    assert shown(second) == list(range(51, 251))
    assert "/ 全 450 件" in visible_text(second) and "新しいメッセージ →" in visible_text(second)
    # msg 51 is the afternoon of a day that began on the older page: this page names that day first
    assert visible_text(second).index(day(51)) < visible_text(second).index("msg 051")
    assert visible_text(second).count(day(51)) == 1 and day(50) == day(51)

    last = requests.get(bridge_server.url + link(second, "older"), timeout=30).text
    assert shown(last) == list(range(1, 51)) and last.count('data-testid="history-message"') == 50
    assert link(last, "older") is None and "← 前のメッセージ" not in last   # the oldest page: nothing before it
    assert day(50) in visible_text(last)

    back = requests.get(bridge_server.url + link(last, "newer"), timeout=30).text
    assert shown(back) == list(range(51, 251))                       # newer goes back the same way
    newest = requests.get(bridge_server.url + link(back, "newer"), timeout=30).text
    assert shown(newest) == list(range(251, 451)) and link(newest, "newer") is None


def test_a_page_stays_put_while_new_messages_arrive(bridge_server, settings, rt):
    conv = long_conversation(rt, 450)
    older = link(requests.get(page_url(bridge_server, settings, conv), timeout=30).text, "older")
    transcript_add_many(rt.store, [(conv.conv_id, E.make(f"line:{i}", at(i), "in", "text", author=conv.line_id,
                                                        name="山田 花子", text=f"msg {i:03d}")) for i in range(451, 481)])
    second = requests.get(bridge_server.url + older, timeout=30).text
    assert shown(second) == list(range(51, 251)) and "/ 全 480 件" in visible_text(second)
    assert shown(requests.get(bridge_server.url + link(second, "newer"), timeout=30).text) == list(range(251, 451))


def test_a_damaged_page_link_is_answered_with_a_clear_page_never_an_error(bridge_server, settings, rt):
    conv = long_conversation(rt, 250)
    base = page_url(bridge_server, settings, conv)
    for garbage in ("garbage", "1767225600.0", "nan~0", "inf~0", "1e999~0", "1767225600.0~-1", "'%20OR%201=1",
                    "1767225600.0~1~2", "1_767_225_600~0", "1767225600.0~99999999999"):
        resp = requests.get(f"{base}?before={garbage}", timeout=30)
        assert resp.status_code == 400, garbage
        assert "このページはありません" in resp.text and shown(resp.text) == [] and "Traceback" not in resp.text
        assert 'data-testid="history-newest"' in resp.text                 # a way back to the newest page
    assert requests.get(f"{base}?before=1.0~0&after=1.0~0", timeout=30).status_code == 400
    for nowhere in ("before=1.0~0", f"after={at(250) + 1!r}~0", f"before={at(250)!r}~999999"):
        resp = requests.get(f"{base}?{nowhere}", timeout=30)
        assert resp.status_code == 404 and "このページはありません" in resp.text, nowhere
    assert requests.get(f"{base}?before=&q=x", timeout=30).status_code == 400
    # a well-formed cursor only moves within the conversation the signed link grants
    other = long_conversation(rt, 3, text=lambda i: f"secret {i}")
    resp = requests.get(f"{base}?before={at(3) + 1!r}~0", timeout=30)
    assert resp.status_code == 200 and "secret" not in resp.text and shown(resp.text) == [1, 2, 3]
    assert other.conv_id != conv.conv_id


def test_a_search_opens_at_the_page_of_its_newest_match_and_pages_keep_it(bridge_server, settings, rt):
    texts = {10: "予約の件です", 120: "予約を変更したい"}
    conv = long_conversation(rt, 450, text=lambda i: f"msg {i:03d} {texts.get(i, 'こんにちは')}")
    html = requests.get(page_url(bridge_server, settings, conv, query="予約"), timeout=30).text
    assert shown(html) == list(range(51, 251))                        # the page holding msg 120
    assert html.count("<mark>予約</mark>") == 1 and 'id="hit-1"' in html
    assert "「予約」: このページに 1 件 / 全 2 件" in visible_text(html)
    older = link(html, "older")
    assert "q=%E4%BA%88%E7%B4%84" in older
    last = requests.get(bridge_server.url + older, timeout=30).text
    assert shown(last) == list(range(1, 51)) and last.count("<mark>予約</mark>") == 1
    newest = requests.get(bridge_server.url + link(last, "newer"), timeout=30).text   # the search goes along
    assert 'value="予約"' in newest and "<mark>" in newest
    nothing = requests.get(page_url(bridge_server, settings, conv, query="存在しない"), timeout=30).text
    assert shown(nothing) == list(range(251, 451)) and "「存在しない」: 0 件" in visible_text(nothing)


def test_media_on_an_older_page_load_through_the_same_link(bridge_server, settings, rt):
    conv = long_conversation(rt, 260)
    photo = rt.archive.put(png((10, 200, 90)), "image/png", "old.png")
    transcript_add_many(rt.store, [(conv.conv_id, E.make("line:photo", at(5) + 60, "in", "image", author=conv.line_id,
                                                         name="山田 花子", media=[photo]))])
    url = page_url(bridge_server, settings, conv)
    newest = requests.get(url, timeout=30).text
    assert photo["sha256"] not in newest
    old = requests.get(bridge_server.url + link(newest, "older"), timeout=30).text
    src = re.search(r'<img src="([^"]+)"', old).group(1)
    assert photo["sha256"] in src and src.startswith(url[len(bridge_server.url):])
    image = requests.get(bridge_server.url + src, timeout=30)
    assert image.status_code == 200 and image.content == png((10, 200, 90))


def test_entries_sharing_a_time_are_neither_repeated_nor_lost_across_pages(store):
    """Several messages filed in the same second (a broadcast, an image set) straddle a page boundary."""
    conv_id = "default:Utie"
    times = [T0 + i for i in range(8)] + [T0 + 8] * 13 + [T0 + 9 + i for i in range(6)]   # 27 entries
    transcript_add_many(store, [(conv_id, E.make(f"line:{n}", t, "in", "text", text=f"m{n:02d}"))
                                for n, t in enumerate(times)])
    members = store.r.zrange(store.keys.transcript(conv_id=conv_id), 0, -1)
    pages, window = [], transcript_window(store, conv_id, 5)
    while True:
        pages.insert(0, window.members)
        assert window.position == members.index(window.members[0]) and window.total == 27
        if window.older is None:
            break
        window = transcript_window(store, conv_id, 5, before=window.older)
    assert [m for page in pages for m in page] == members and [len(p) for p in pages] == [2, 5, 5, 5, 5, 5]
    forward = []
    window = transcript_window(store, conv_id, 5, before=(T0 - 1, 0))   # nothing before the first
    assert window.members == [] and window.older is None
    window = transcript_window(store, conv_id, 5, offset=25)
    while True:
        forward.append(window.members)
        if window.newer is None:
            break
        window = transcript_window(store, conv_id, 5, after=window.newer)
    assert [m for page in forward for m in page] == members
    store.r.delete(store.keys.transcript(conv_id=conv_id))


def test_the_paged_page_speaks_english_when_the_bridge_does():
    from bridge.history.render import page_html
    from bridge.history.view import build

    entries = [E.make(f"line:{i}", T0 + i * 86400, "in", "text", author="U1", name="Hanako", text=f"hello {i}")
               for i in range(3)]
    view = build(entries, tz=TOKYO, lang="en", query="hello 1", position=197)
    html = page_html(view, title="#1 Hanako", summary="", query="hello 1", self_url="/h", lang="en",
                     range_line="3 of 1,234 entries, 2026-01-01 to 2026-01-03 (Asia/Tokyo)",
                     older="/h?before=1.0~0&q=hello", newer="/h?after=2.0~1", hits_total=7)
    text = visible_text(html)
    assert "← Older" in text and "Newer →" in text and "3 of 1,234 entries" in text
    assert "“hello 1”: 1 on this page, 7 in all" in text
    assert 'id="m-198"' in html and 'id="m-200"' in html                # anchors number the whole conversation
    assert 'href="/h?before=1.0~0&amp;q=hello"' in html and "<script" not in html
