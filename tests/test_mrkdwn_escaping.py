"""Nothing a LINE friend sends can ping or trick Slack.

Every string a friend controls (display name, group name, member names, message text, file
name, location title and address, sticker keywords and text, postback data, edited text, the
quoted message's preview, the auto-reply copy with ``{name}``, dead-letter previews, App Home,
/pending, /friend) is sent with Slack hostile markup in it; the judge is EVERYTHING the Slack
emulator recorded: every ``text``/``initial_comment`` argument and every ``mrkdwn`` text object
in blocks and views, recursively. None may carry a friend's ``<!channel>``, ``<@U…>``,
``<url|label>``, a bare ``&`` or a live ``@here``.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.i18n.automation import MESSAGES
from bridge.engine import work
from bridge.model import RetryLater
from bridge.text.mrkdwn import clip, escape
from tests.conftest import HANAKO, STAFF, TARO, TRIAGE, _seed, cid, wait_until
from tests.helpers import InProcess
from tests.fuzz_strategies import FRIEND_MARKUP, friend_strings

PROPERTY = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                    report_multiple_bugs=False)
HOSTILE_NAME = "<!channel> R&D <https://evil.example|bank> <@U123>"
FRIDAY_EVENING = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()  # closed (automation.toml)


# -- the judge ------------------------------------------------------------------------------------

def mrkdwn_strings(args: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) of every string of a Web API call that Slack parses as mrkdwn.

    ``text`` (the message text, also the notification and the fallback of blocks),
    ``initial_comment`` of an upload, and every text object of type ``mrkdwn`` in ``blocks``
    or a ``view``. ``plain_text`` objects, ``username``, file titles and ``alt_text`` are not
    parsed by Slack and are not judged here."""
    for field in ("text", "initial_comment"):
        if isinstance(args.get(field), str):
            yield field, args[field]

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                yield path, node["text"]
            for key, value in node.items():
                yield from walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                yield from walk(value, f"{path}/{n}")

    for field in ("blocks", "view", "attachments"):
        value = args.get(field)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        yield from walk(value, field)


# A live broadcast word: "@here" at the start of a word ("info@here.com", "R&D@here" are no mention).
LIVE_BROADCAST = re.compile(r"(?<![A-Za-z0-9._%+\-])@(?:channel|here|everyone)(?![A-Za-z0-9_])", re.I)


def raw_markup(text: str) -> list[str]:
    """The friend's control sequences that ``text`` carries raw (an empty list when it is safe)."""
    found = [m for m in FRIEND_MARKUP if not m.startswith("@") and m in text]
    return found + LIVE_BROADCAST.findall(text)


# The bridge's own SLA alerts end with a deliberate mention (<!here> when nobody owns the chat); their
# other parameters are durations. A slow run (a loaded machine) reaches the SLA target mid-test.
OWN_MENTIONS = tuple(MESSAGES[key][lang].split("{")[0] for key in ("sla.alert", "sla.escalation") for lang in ("ja", "en"))


def leaks(calls) -> list[str]:
    found = []
    for call in calls:
        for where, text in mrkdwn_strings(call.args):
            if text.startswith(OWN_MENTIONS) and text.endswith("<!here>"):
                text = text[: -len("<!here>")]
            bad = raw_markup(text)
            if bad:
                found.append(f"{call.method} {where}: {bad} in {text[:200]!r}")
    return found


def over_limit(calls) -> list[str]:
    return [f"{c.method}: {c.errors}" for c in calls if any("3000" in e or "3001" in e for e in c.errors)]


# -- the one escaper ------------------------------------------------------------------------------

def test_escape_neutralises_every_kind_of_slack_markup():
    text = "<!channel> <!here> <!subteam^S123> <@U123> <#C123> <https://evil.example|bank> R&D @here @Channel"
    out = escape(text)
    assert raw_markup(out) == []
    assert out.startswith("&lt;!channel&gt; ") and "R&amp;D" in out and "@\u200bhere" in out
    assert escape("info@here.com 山田 *太字* 🙂\n二行目") == "info@here.com 山田 *太字* 🙂\n二行目"


def test_clip_never_cuts_an_entity_and_stays_within_the_limit():
    text = escape("&" * 1000 + "<" * 1000)  # 5× and 4× longer once escaped
    clipped = clip(text, 3000)
    assert len(clipped) <= 3000 and clipped.endswith("…")
    body = clipped[:-1]
    assert body.replace("&amp;", "").replace("&lt;", "") == ""  # whole entities only
    assert clip("short", 3000) == "short"


def test_slack_t_escapes_every_parameter_unless_it_is_marked_as_markup():
    from bridge.i18n import Mrkdwn, slack_t

    text = slack_t("friend.audit", "ja", actor=Mrkdwn("<@USTAFF01>"), what="メモ: <!channel> R&D")
    assert "<@USTAFF01>" in text and "&lt;!channel&gt; R&amp;D" in text and not raw_markup(text)
    assert slack_t("op.done", "en", number=3, name="@here", what=Mrkdwn("*done*")) == "#3 @\u200bhere: *done*"


# -- every LINE event type, in process ------------------------------------------------------------

@pytest.fixture()
def fast_ip(monkeypatch, settings, line_emu, slack_emu):
    """``ip`` (no pacing in process) with the emulator's limits off after a reset: this judges what is shown,
    and about fifteen posts per example would otherwise take a second each."""
    from bridge import clock

    installed = (clock._redis, clock._key)
    _seed(line_emu, slack_emu)
    line_emu.add_user(HANAKO, "山田 花子")
    line_emu.add_user(TARO, "Taro Tanaka")
    yield InProcess(settings, line_emu, slack_emu)
    clock._redis, clock._key = installed


def _user_id(n: int) -> str:
    return "U" + f"{n:032x}"


def test_no_friend_string_reaches_slack_markup_raw(fast_ip):
    ip = fast_ip
    counter = iter(range(1, 10_000))

    @PROPERTY
    @given(name=friend_strings(), group=friend_strings(), member=friend_strings(), text=friend_strings(),
           other=friend_strings())
    def one_friend(name, group, member, text, other):
        n = next(counter)
        start = len(ip.slack.calls)
        friend, joiner, group_id = _user_id(n), _user_id(5000 + n), "C" + f"{n:032x}"
        ip.line.add_user(friend, name)
        ip.line.add_user(joiner, member)
        ip.line.add_group(group_id, group, members={friend: name, joiner: member})
        hooks = ip.webhooks
        first = hooks.text(friend, text)
        first["timestamp"] = int((FRIDAY_EVENING + n) * 1000)  # closed: the auto-reply names the friend
        ip.line_event(first)
        quoting = hooks.text(friend, other, quoted_message_id=first["message"]["id"])
        edited = {"type": "messageEdited", "mode": "active", "timestamp": first["timestamp"] + 1,
                  "webhookEventId": f"01EDIT{n:020d}", "deliveryContext": {"isRedelivery": False},
                  "source": {"type": "user", "userId": friend},
                  "message": {"id": first["message"]["id"], "type": "text", "text": other}}
        events = [
            quoting, edited,
            hooks.file(friend, file_name=other),
            hooks.location(friend, title=text, address=other),
            hooks.sticker(friend, keywords=[text, other], text=other),
            hooks.postback(friend, other, params={"datetime": text}),
            hooks.image(friend), hooks.video(friend), hooks.audio(friend),
            hooks.text(group_id, text, source_type="group", user_id=friend),
            hooks.member_joined(group_id, [joiner]),
            hooks.member_left(group_id, [joiner]),
            hooks.leave(group_id), hooks.join(group_id),
            hooks.unsend(friend, quoting["message"]["id"]),
            hooks.unfollow(friend), hooks.follow(friend),
        ]
        for event in events:
            ip.line_event(event)
        ip.op(cid(friend), "resolve")
        again = hooks.text(friend, other, quoted_message_id=first["message"]["id"])
        ip.line_event(again)  # reopened: broadcast to the channel, quote and all
        # A text that kept failing is set aside and announced with its preview.
        ip.domain.dead_letter({"id": f"dl{n}", "kind": work.LINE_EVENT, "stream": f"line-{cid(friend)}",
                               "payload": {"account": "default", "event": hooks.text(friend, text)}}, "boom")
        ip.domain.automation.home.publish(STAFF)  # App Home lists the friend by name
        calls = ip.slack.calls[start:]
        assert not leaks(calls), "\n".join(leaks(calls))
        shown = json.dumps([c.args for c in calls], ensure_ascii=False)
        for path in ("🤖", "📍", "📎", "スタンプ", "🔘", "👋 メンバー", "編集済み", "引用元", "⚠️", '"type": "home"'):
            assert path in shown, f"this example never reached Slack through {path!r}: the judge saw nothing there"
        assert any(c.args.get("reply_broadcast") in (True, "true", "1") for c in calls)

    one_friend()


STRUCTURAL = {"type", "userId", "groupId", "roomId", "id", "replyToken", "webhookEventId", "mode", "quoteToken",
              "markAsReadToken", "quotedMessageId", "packageId", "stickerId", "stickerResourceType", "messageId",
              "destination"}


def _hostile_leaves(node: Any, draw) -> Any:
    """``node`` with every string that is not routing (ids, types, tokens) replaced by a friend string."""
    if isinstance(node, dict):
        return {k: v if k in STRUCTURAL and isinstance(v, str) else _hostile_leaves(v, draw) for k, v in node.items()}
    if isinstance(node, list):
        return [_hostile_leaves(v, draw) for v in node]
    return draw(friend_strings()) if isinstance(node, str) else node


def test_every_sample_event_with_markup_in_every_string_field(fast_ip):
    """webhook-all-events.json (from the SDK's tests): every event, every non-routing string hostile."""
    ip = fast_ip
    samples = ip.webhooks.sample_events()

    @settings(PROPERTY, max_examples=8)
    @given(data=st.data())
    def every_event(data):
        start = len(ip.slack.calls)
        for event in samples:
            hostile = _hostile_leaves(event, data.draw)
            try:
                ip.line_event(hostile)
            except RetryLater:  # content the emulator does not have: retried later, shown or set aside then
                pass
        calls = ip.slack.calls[start:]
        assert calls and not leaks(calls), "\n".join(leaks(calls))

    every_event()


def test_an_edited_message_of_3000_plus_characters_with_markup_is_shown_clipped(ip):
    ip.friend_says("U" + "1" * 32, "はじめまして")  # the thread exists: the edited copy is a thread message
    event = ip.friend_says("U" + "1" * 32, "短いメッセージ")
    thread = ip.conv("U" + "1" * 32).thread_ts
    start = len(ip.slack.calls)
    long_text = ("R&D <b> " * 400)[:3100]
    ip.line_event({"type": "messageEdited", "mode": "active", "timestamp": event["timestamp"] + 1000,
                   "webhookEventId": "01EDITLONG0000000000000000", "deliveryContext": {"isRedelivery": False},
                   "source": {"type": "user", "userId": "U" + "1" * 32},
                   "message": {"id": event["message"]["id"], "type": "text", "text": long_text}})
    calls = ip.slack.calls[start:]
    assert [c.method for c in calls if c.method == "chat.update"] == ["chat.update"]
    assert not over_limit(calls) and all(c.response.get("ok") for c in calls if c.method == "chat.update")
    (copy,) = ip.slack.messages(TRIAGE, thread)
    assert copy["text"].startswith("R&amp;D &lt;b&gt; R&amp;D") and "編集済み" in copy["text"]


def test_the_emulator_rejects_a_section_over_3000_characters(ip):
    """The clipping test above is meaningful: Slack (and its emulator) refuse such blocks."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    ip.friend_says("U" + "1" * 32, "こんにちは")  # the emulator learns its URL from the bridge's calls
    client = WebClient(token="xoxb-test", base_url=ip.slack.url.rstrip("/") + "/api/")
    try:
        client.chat_postMessage(channel=TRIAGE, text="x", blocks=[{"type": "section", "text": {"type": "mrkdwn",
                                                                                             "text": "a" * 3001}}])
    except SlackApiError as exc:
        assert exc.response["error"] == "invalid_blocks"
    else:
        raise AssertionError("a 3001-character section was accepted")


def test_parent_and_modals_of_a_hostile_named_friend_are_escaped():
    from bridge.friends.values import FriendData
    from bridge.model import Conversation
    from bridge.slack_ui.friends import friend_modal
    from bridge.slack_ui.parent import actions_modal, parent_message
    from bridge.triage.marks import default_marks

    conv = Conversation(conv_id="default-U1", source_type="group", number=7, name=HOSTILE_NAME,
                        picture_url="https://p/1", channel=TRIAGE, thread_ts="1.2")
    fallback, blocks = parent_message(conv, default_marks(), "ja", account_label="R&D",
                                      friend_line="会員番号: <@U123> · タグ R&D")
    views = [{"text": fallback, "blocks": blocks}, {"view": actions_modal(conv, default_marks(), "en")},
             {"view": friend_modal(conv.conv_id, f"#7 {conv.name}", FriendData(note="R&D"), [], "ja")}]
    for args in views:
        shown = list(mrkdwn_strings(args))
        assert shown and not [(w, x) for w, x in shown if raw_markup(x)], shown
    assert blocks[0]["accessory"]["alt_text"] == HOSTILE_NAME  # plain text: shown as written, not "&amp;"


# -- staff views of a hostile-named friend, end to end ---------------------------------------------

def test_app_home_pending_friend_and_command_answers_show_a_hostile_name_escaped(h):
    friend = "U" + "9" * 32
    h.line.add_user(friend, HOSTILE_NAME)
    h.friend_says(friend, "<!here> 至急 <#C123> R&D")
    h.thread_of(friend)
    h.settle()
    pending = json.dumps(h.slack_sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE).json(),
                         ensure_ascii=False)
    found = json.dumps(h.slack_sender.command("/friend", "#1", user_id=STAFF, channel_id=TRIAGE).json(),
                       ensure_ascii=False)
    resp = h.slack_sender.send_event({"type": "app_home_opened", "user": STAFF, "channel": "D0HOME", "tab": "home",
                                      "event_ts": "1.0"})
    assert resp.status_code == 200
    assert wait_until(lambda: h.slack.calls_for("views.publish"))
    # A slash command on the chat answers "#1 <name>: …" through the response_url.
    h.slack_sender.command("/claim", f"{h.conv(friend).number}", user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: h.slack.responses)
    h.settle()
    answers = [json.dumps(r, ensure_ascii=False) for r in h.slack.responses]
    assert any("R&amp;D" in a for a in answers) and not any(raw_markup(a) for a in answers), answers
    for shown in (pending, found):
        assert "R&amp;D" in shown and not raw_markup(shown), shown[:800]
    assert not leaks(h.slack.calls), "\n".join(leaks(h.slack.calls))
