"""友だち情報 and 定型文 end to end: the modal, the parent, /friend, /pending filters, !key replies."""
from __future__ import annotations

import json
import time

from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, cid, wait_until
from tests.helpers import open_thread

OUTSIDER = "UOUTSIDER1"


def parent_text(h, thread):
    return json.dumps(h.slack.message(TRIAGE, thread).get("blocks"), ensure_ascii=False)


def open_friend_modal(h, thread, user=STAFF):
    before = set(h.slack.views)
    h.slack_sender.block_action(user, TRIAGE, thread, "conv_friend", h.store.get_by_thread(TRIAGE, thread).conv_id)
    assert wait_until(lambda: set(h.slack.views) - before)
    return h.slack.views[(set(h.slack.views) - before).pop()]


def submit(h, view, *, member_no="", visit=None, budget="", wish=None, tags="", note="", user=STAFF):
    return h.slack_sender.view_submission(user, view, {
        "f.member_no": {"f.member_no": member_no},
        "f.visit": {"f.visit": {"type": "datepicker", "selected_date": visit}},
        "f.budget": {"f.budget": {"type": "number_input", "value": budget}},
        "f.wish": {"f.wish": {"type": "static_select", "selected_option": {"value": wish} if wish else None}},
        "tags": {"tags": tags},
        "note": {"note": note},
    })


def edit_friend(h, user_id, **values):
    """Edit in the modal and wait until the worker saved it (each friend's save runs on its own stream)."""
    thread = h.thread_of(user_id)
    key = h.store.keys.friend(conv_id=cid(user_id))
    before = h.store.r.hget(key, "updated_at")
    view = open_friend_modal(h, thread)
    resp = submit(h, view, **values)
    assert resp.status_code == 200 and not resp.text, resp.text
    assert wait_until(lambda: h.store.r.hget(key, "updated_at") not in (None, before)), "the edit was not saved"
    return thread


def test_fields_tags_and_note_edited_in_the_modal_are_shown_on_the_parent_and_audited(h):
    thread = open_thread(h)
    view = open_friend_modal(h, thread)
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels == ["会員番号", "来店日", "予算", "希望条件", "タグ", "メモ"]
    submit(h, view, member_no="A-1001", visit="2026-01-05", budget="120000", wish="賃貸", tags="VIP, 新規", note="駐車場希望")
    assert wait_until(lambda: "A-1001" in parent_text(h, thread))
    shown = parent_text(h, thread)
    assert "🏷 VIP, 新規" in shown and "来店日: 2026-01-05" in shown and "予算: 120000" in shown
    audit = [m["text"] for m in h.thread_messages(thread) if "友だち情報を更新" in m.get("text", "")]
    assert audit and f"<@{STAFF}>" in audit[0] and "会員番号: （なし） → A-1001" in audit[0] and "+VIP" in audit[0]
    events = [e for e in h.store.events(cid(HANAKO)) if e["action"] == "friend"]
    assert events[0]["actor"] == STAFF and events[0]["changes"]["fields"]["member_no"] == ["", "A-1001"]
    # the modal opens again with what was saved; removing a tag is recorded too
    view = open_friend_modal(h, thread, user=STAFF2)
    assert "A-1001" in json.dumps(view, ensure_ascii=False) and "VIP, 新規" in json.dumps(view, ensure_ascii=False)
    submit(h, view, member_no="A-1001", visit="2026-01-05", budget="120000", wish="賃貸", tags="VIP", note="駐車場希望",
           user=STAFF2)
    assert wait_until(lambda: "新規" not in parent_text(h, thread))
    assert wait_until(lambda: any("−新規" in m.get("text", "") and f"<@{STAFF2}>" in m["text"] for m in h.thread_messages(thread)))


def test_a_friend_data_edit_is_audited_in_the_thread_even_when_slack_makes_that_line_wait(h):
    """The 友だち情報 is saved, then the thread says who changed what. When Slack refuses that line
    (429: wait for the channel's turn), the data was saved already, and the retry used to find
    nothing left to change and stop: no audit line, no parent refresh. Now the retry resumes at
    the line with the recorded changes: it comes once, and the parent shows the new data."""
    thread = open_thread(h)
    h.settle()
    view = open_friend_modal(h, thread)
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the audit line, has to wait
    submit(h, view, member_no="A-1001", tags="VIP")
    audit = lambda: [m["text"] for m in h.thread_messages(thread) if "友だち情報を更新" in m.get("text", "")]  # noqa: E731
    assert wait_until(audit, timeout=20)
    assert wait_until(lambda: "A-1001" in parent_text(h, thread))
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "友だち情報を更新" in refused[0].args.get("text", "")  # it did wait
    assert len(audit()) == 1 and "会員番号: （なし） → A-1001" in audit()[0] and "+VIP" in audit()[0]
    assert len([e for e in h.store.events(cid(HANAKO)) if e["action"] == "friend"]) == 1
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done


def test_invalid_values_are_refused_in_the_modal_and_nothing_is_saved(h):
    thread = open_thread(h)
    view = open_friend_modal(h, thread)
    resp = submit(h, view, budget="たくさん")
    body = resp.json()
    assert body["response_action"] == "errors" and "数値" in body["errors"]["f.budget"]
    time.sleep(0.3)
    assert h.store.r.exists(h.store.keys.friend(conv_id=cid(HANAKO))) == 0


def test_message_shortcut_opens_the_modal_and_outsiders_see_nothing(h):
    thread = open_thread(h)
    before = set(h.slack.views)
    h.slack_sender.message_shortcut("friend_info", STAFF, TRIAGE, thread)
    assert wait_until(lambda: set(h.slack.views) - before)
    view = h.slack.views[(set(h.slack.views) - before).pop()]
    assert view["callback_id"] == "friend_modal" and view["private_metadata"] == cid(HANAKO)
    edit_friend(h, HANAKO, member_no="SECRET-1")
    before = set(h.slack.views)
    h.slack_sender.block_action(OUTSIDER, TRIAGE, thread, "conv_friend", cid(HANAKO))
    assert wait_until(lambda: set(h.slack.views) - before)
    outsider_view = json.dumps(h.slack.views[(set(h.slack.views) - before).pop()], ensure_ascii=False)
    assert "メンバー" in outsider_view and "SECRET-1" not in outsider_view


def test_friend_command_finds_by_name_number_field_and_tag(h):
    open_thread(h, HANAKO)
    open_thread(h, TARO, "hello")
    edit_friend(h, HANAKO, member_no="A-1001", tags="VIP")
    edit_friend(h, TARO, member_no="B-2002", wish="売買")
    assert wait_until(lambda: h.store.r.exists(h.store.keys.friend(conv_id=cid(TARO))))

    def found(text, user=STAFF):
        return json.dumps(h.slack_sender.command("/friend", text, user_id=user, channel_id=TRIAGE).json(), ensure_ascii=False)

    hanako, taro = f"#{h.conv(HANAKO).number} 山田 花子", f"#{h.conv(TARO).number} Taro Tanaka"
    assert hanako in found("山田") and taro not in found("山田")
    assert taro in found("taro") and hanako not in found("taro")          # case-insensitive name prefix
    assert hanako in found(str(h.conv(HANAKO).number))
    assert hanako in found("A-1001") and taro not in found("A-1001")        # a field value
    assert taro in found("会員番号:b-2002")                                   # a field by its label
    assert taro in found("wish:売買") and hanako not in found("wish:売買")
    assert hanako in found("tag:vip") and taro not in found("tag:vip")
    assert "/archives/" in found("tag:VIP")                                  # linked to the thread
    assert "一致する会話はありません" in found("tag:VIP 会員番号:B-2002")       # terms combine (AND)
    assert "メンバー" in found("山田", user=OUTSIDER)


def test_pending_filters_by_tag_and_field(h):
    open_thread(h, HANAKO)
    open_thread(h, TARO, "hello")
    edit_friend(h, HANAKO, tags="VIP")
    edit_friend(h, TARO, tags="VIP", wish="売買")
    assert wait_until(lambda: h.store.r.exists(h.store.keys.friend(conv_id=cid(TARO))))

    def pending(text):
        return json.dumps(h.slack_sender.command("/pending", text, user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)

    both = pending("tag:VIP")
    assert "山田 花子" in both and "Taro Tanaka" in both
    only = pending("tag:VIP 希望条件:売買")
    assert "Taro Tanaka" in only and "山田 花子" not in only
    h.slack_sender.command("/resolve", str(h.conv(TARO).number), user_id=STAFF, channel_id=TRIAGE)
    assert wait_until(lambda: h.conv(TARO).mark == "resolved")
    after = pending("tag:VIP")
    assert "山田 花子" in after and "Taro Tanaka" not in after             # still only the open backlog
    assert "tag:VIP" in after                                              # the filter is described


def test_canned_reply_is_expanded_with_placeholders_and_shown_in_the_thread(h):
    thread = open_thread(h)
    edit_friend(h, HANAKO, member_no="A-1001")
    assert wait_until(lambda: h.store.r.exists(h.store.keys.friend(conv_id=cid(HANAKO))))
    h.staff_says(thread, "!hours")
    expected = "山田 花子様、営業時間は10時〜19時です。担当: 佐藤"
    assert wait_until(lambda: expected in h.line.delivered_texts(HANAKO))
    assert wait_until(lambda: any(expected in m.get("text", "") and "定型文" in m["text"] for m in h.thread_messages(thread)))
    h.staff_says(thread, "ご確認ありがとうございます。!member よろしくお願いします")
    assert wait_until(lambda: "ご確認ありがとうございます。会員番号 A-1001 で承りました。 よろしくお願いします"
                      in h.line.delivered_texts(HANAKO))


def test_unknown_canned_key_alone_is_not_sent(h):
    thread = open_thread(h)
    h.staff_says(thread, "!nosuchkey")
    assert wait_until(lambda: any("!nosuchkey" in m.get("text", "") and "⚠" in m.get("text", "") for m in h.thread_messages(thread))
                      or any("nosuchkey" in m.get("text", "") and "ありません" in m.get("text", "") for m in h.thread_messages(thread)))
    assert not any("nosuchkey" in x for x in h.line.delivered_texts(HANAKO))


def test_canned_managed_from_slack_by_admins_only(h):
    thread = open_thread(h)
    refused = h.slack_sender.command("/canned", "add thanks ありがとうございます", user_id=STAFF2, channel_id=TRIAGE).json()
    assert "管理者" in refused["text"]
    added = h.slack_sender.command("/canned", "add thanks {name}様、ありがとうございます <3", user_id=STAFF, channel_id=TRIAGE).json()
    assert "!thanks" in added["text"]
    listed = h.slack_sender.command("/canned", "list", user_id=STAFF2, channel_id=TRIAGE).json()["text"]
    assert "!thanks" in listed and "!hours" in listed
    h.staff_says(thread, "!thanks")
    assert wait_until(lambda: "山田 花子様、ありがとうございます <3" in h.line.delivered_texts(HANAKO))
    assert "設定ファイル" in h.slack_sender.command("/canned", "remove hours", user_id=STAFF, channel_id=TRIAGE).json()["text"]
    assert "削除" in h.slack_sender.command("/canned", "remove thanks", user_id=STAFF, channel_id=TRIAGE).json()["text"]
    assert "!thanks" not in h.slack_sender.command("/canned", "list", user_id=STAFF, channel_id=TRIAGE).json()["text"]


def test_conversations_older_than_the_name_index_are_found_after_a_restart(h):
    """Conversations created before /friend existed had no name index: start-up backfills it once."""
    from bridge.store.friends import FriendStore

    open_thread(h, HANAKO)
    keys = h.store.keys
    h.store.r.delete(keys.friend_names(account="default"), keys.migration(name="friend-names"))  # an older layout

    def found(text):
        return json.dumps(h.slack_sender.command("/friend", text, user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)

    hanako = f"#{h.conv(HANAKO).number} 山田 花子"
    assert hanako not in found("山田")
    assert FriendStore(h.store.r, keys).backfill_names() >= 1     # what Runtime.prepare() runs at start-up
    assert hanako in found("山田")
    assert FriendStore(h.store.r, keys).backfill_names() == 0     # once per namespace
