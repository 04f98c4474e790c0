"""/pending never waits for Slack: a friend's message updates the conversation and the backlog
before (and without) the Slack post, which follows at the channel's pace.

Slack takes one post per second per channel and tells the bridge to back off (429 +
Retry-After) when it is over. Until the channel's turn comes, every chat that wrote is already
in /pending with its number, waiting time and preview, and a hint that Slack shows it soon.
"""
from __future__ import annotations

import json

from tests.conftest import STAFF, TRIAGE, cid, wait_until

FRIENDS = ["U" + format(0xA000 + i, "x").rjust(32, "0") for i in range(8)]
GROUP = "C" + "e" * 32
NOT_SHOWN = "Slack に表示待ち"


def pending(h) -> str:
    return json.dumps(h.slack_sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)


def test_pending_lists_every_new_chat_while_slack_holds_the_posts_back(h):
    for i, friend in enumerate(FRIENDS):
        h.line.add_user(friend, f"お客様{i}")
    h.line.add_group(GROUP, "常連さんの会", members={FRIENDS[0]: "お客様0"})
    h.slack.set_rate_limits(post_per_channel=(1, 5))
    h.slack.fail_next("chat.postMessage", 429, retry_after=30)  # Slack: nobody posts in this channel for 30 s
    events = [h.webhooks.text(friend, f"質問その{i}") for i, friend in enumerate(FRIENDS)]
    events.append(h.webhooks.text(GROUP, "グループからの質問", source_type="group", user_id=FRIENDS[0]))
    assert h.send_line(*events).status_code == 200
    texts = [f"質問その{i}" for i in range(len(FRIENDS))] + ["グループからの質問"]
    assert wait_until(lambda: all(text in pending(h) for text in texts), timeout=10), pending(h)
    body = pending(h)
    numbers = sorted(h.conv(f).number for f in FRIENDS + [GROUP])
    assert numbers == list(range(1, len(FRIENDS) + 2))  # numbered before their parents exist
    assert all(f"#{n} " in body for n in numbers)
    assert NOT_SHOWN in body  # rows without a thread yet: Slack shows them later …
    assert [f for f in FRIENDS + [GROUP] if not h.conv(f).thread_ts]
    for f in FRIENDS + [GROUP]:  # … but the waiting clock runs from what the friend sent
        conv = h.conv(f)
        assert conv.waiting_since > 0 and conv.last_message_preview
    assert h.store.r.zscore(h.store.keys.backlog_all(account="default"), cid(FRIENDS[-1])) is not None
