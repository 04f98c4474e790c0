"""Who may open what: the 会話の操作 shortcut, the correction button and the broadcast confirmation
each check the person against the conversation's own triage channel (and the admin list), with
real signed Slack payloads through the real HTTP stack; forged payloads are refused."""
from __future__ import annotations

import json

from bridge.friends.segment import Segment
from bridge.slack_ui.broadcast import CONFIRM
from emulators.line_media import make_png
from tests.conftest import HANAKO, STAFF, STAFF2, TRIAGE, wait_until
from tests.test_broadcast import seed_friends
from tests.test_undo_window import edit, open_thread, reactions

OUTSIDER = "UOUTSIDER1"


def opened_views(h, since: int) -> str:
    """Everything the bridge asked Slack to show in modals since call number ``since`` (as text)."""
    return json.dumps([c.args for c in h.slack.calls_for("views.open")[since:]], ensure_ascii=False)


def test_conversation_shortcut_shows_friend_data_only_to_members_of_its_triage_channel(h):
    h.friend_says(HANAKO, "こんにちは")
    thread = h.thread_of(HANAKO)
    parent = thread
    before = len(h.slack.calls_for("views.open"))
    # A forged payload (the outsider is not in the channel, so Slack would not offer it there).
    assert h.slack_sender.message_shortcut("conversation_actions", OUTSIDER, TRIAGE, parent).status_code == 200
    assert wait_until(lambda: len(h.slack.calls_for("views.open")) > before)
    shown = opened_views(h, before)
    assert "メンバーだけ" in shown
    for private in ("山田", "花子", "!hours", "営業時間", "#1"):
        assert private not in shown, private
    before = len(h.slack.calls_for("views.open"))
    assert h.slack_sender.message_shortcut("conversation_actions", STAFF, TRIAGE, parent).status_code == 200
    assert wait_until(lambda: len(h.slack.calls_for("views.open")) > before)
    assert "山田 花子" in opened_views(h, before) and "!hours" in opened_views(h, before)


def test_only_the_author_of_a_message_may_send_its_correction(h, delay):
    delay(0)
    thread = open_thread(h)
    msg = h.staff_says(thread, "料金は 3000 円です")
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["料金は 3000 円です"])
    assert wait_until(lambda: "free" in reactions(h, msg["ts"]))
    edit(h, thread, msg, "料金は 300 円です")
    assert wait_until(lambda: h.slack.ephemerals(TRIAGE, STAFF))
    button = h.slack.ephemerals(TRIAGE, STAFF)[-1]["blocks"][1]["elements"][0]
    for other in (STAFF2, OUTSIDER):  # a colleague in the channel, someone outside it (forged payloads)
        h.slack.responses.clear()
        h.slack_sender.block_action(other, TRIAGE, msg["ts"], button["action_id"], button["value"], thread_ts=thread)
        assert wait_until(lambda: h.slack.responses)
        assert "元のメッセージを書いた人" in json.dumps(h.slack.responses[-1], ensure_ascii=False)
    h.settle()
    assert h.line.delivered_texts(HANAKO) == ["料金は 3000 円です"]
    h.slack_sender.block_action(STAFF, TRIAGE, msg["ts"], button["action_id"], button["value"], thread_ts=thread)
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["料金は 3000 円です", "【訂正】料金は 300 円です"])


def forged_confirm(h, user: str, account: str, text: str, image: dict | None = None) -> dict:
    """Submit a confirmation modal whose private_metadata the client made up."""
    meta = {"segment": Segment(account=account, terms=(("tag", "campaign"),), marks=()).to_json(),
            "text": text, "channel": TRIAGE}
    if image:
        meta["image"] = image
    view = {"callback_id": CONFIRM, "private_metadata": json.dumps(meta, ensure_ascii=False),
            "title": {"type": "plain_text", "text": "broadcast"}, "blocks": []}
    resp = h.slack_sender.view_submission(user, view, {})
    assert resp.status_code == 200
    return resp.json() if resp.text else {}


def test_broadcast_confirmation_rechecks_the_account_in_private_metadata(h):
    ids = seed_friends(h, n=3)
    # An admin who is not (or no longer) a member of the account's triage channel.
    h.slack.add_channel(TRIAGE, "line-triage", members=[STAFF2, "UBOT"])
    refused = forged_confirm(h, STAFF, "default", "当選しました")
    assert refused.get("response_action") == "update"
    assert "メンバーだけ" in json.dumps(refused["view"], ensure_ascii=False)
    # An account that does not exist, and a confirmation that is not one.
    other = forged_confirm(h, STAFF, "nagoya", "当選しました")
    assert other.get("response_action") == "update" and "メンバーだけ" in json.dumps(other["view"], ensure_ascii=False)
    resp = h.slack_sender.view_submission(STAFF, {"callback_id": CONFIRM, "private_metadata": "[1]"}, {})
    assert resp.status_code == 200 and "/broadcast" in resp.text
    h.settle()
    assert not any(h.line.delivered_texts(uid) for uid in ids)
    assert not h.line.deliveries


def test_broadcast_confirmation_by_an_admin_member_still_goes_out(h):
    ids = seed_friends(h, n=2)
    assert forged_confirm(h, STAFF, "default", "ご案内です") == {}
    assert wait_until(lambda: all(h.line.delivered_texts(uid) == ["ご案内です"] for uid in ids), timeout=30)


def test_broadcast_sends_only_an_image_its_sender_uploaded(h):
    ids = seed_friends(h, n=2)
    # A file someone else uploaded (the bot can read it): named in a forged private_metadata.
    theirs = h.slack.add_file(make_png(), "someone-elses.png", mimetype="image/png", user=STAFF2)
    assert forged_confirm(h, STAFF, "default", "ご案内です", image={"id": theirs["id"], "name": "x.png"}) == {}
    assert wait_until(lambda: any("配信する人がアップロードしたものではありません" in m["text"]
                                  for m in h.slack.messages(TRIAGE)), timeout=30)
    h.settle()
    assert not any(h.line.delivered_texts(uid) for uid in ids) and not h.line.deliveries
