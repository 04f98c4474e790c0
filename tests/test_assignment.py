"""Fair assignment end to end: round-robin among the on-duty list, skipping people who are away,
off duty or at the open-conversation limit. The test config assigns conversations marked
アカウントトラブル (account_trouble) among USTAFF01 and USTAFF02, at most 2 open each."""
from __future__ import annotations

from pathlib import Path

from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, wait_until
from tests.helpers import RecordingQueue, in_process_domain
from tests.test_automation import settle, texts

JIRO = "U" + "3" * 32
SABURO = "U" + "4" * 32


def trouble(h, user: str, text: str = "ログインできません") -> str:
    h.friend_says(user, text)
    thread = h.thread_of(user)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "warning")
    assert wait_until(lambda: h.conv(user).mark == "account_trouble")
    return thread


def assigned(h, user: str, timeout: float = 20) -> str:
    assert wait_until(lambda: h.conv(user).assignee, timeout=timeout)
    return h.conv(user).assignee


def test_round_robin_with_a_mention_in_the_thread(h):
    first = trouble(h, HANAKO)
    assert assigned(h, HANAKO) == STAFF
    assert wait_until(lambda: any(f"自動割り当て（順番制）: <@{STAFF}>" in t for t in texts(h, first)))
    trouble(h, TARO)
    assert assigned(h, TARO) == STAFF2
    h.line.add_user(JIRO, "次郎")
    trouble(h, JIRO)
    assert assigned(h, JIRO) == STAFF


def test_the_thread_is_told_of_an_automatic_assignment_even_when_slack_makes_that_line_wait(h, settings):
    """The assignee is set, then the thread says who got the conversation. When Slack refuses that
    line (429: wait for the channel's turn), the conversation was assigned already, and the retry
    used to find it assigned and stop: nobody was told. Now the retry resumes at the line: it
    comes once, and the assignment is in the conversation's history."""
    rt = Runtime(settings)
    h.friend_says(HANAKO, "ログインできません")
    thread = h.thread_of(HANAKO)
    h.settle()
    conv_id = h.conv(HANAKO).conv_id
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the assignment's line, has to wait
    # Marked アカウントトラブル without a line of its own (so the refused post is the assignment's).
    rt.store.update_conversation(conv_id, mark="account_trouble")
    rt.backlog.reindex(conv_id)
    said = lambda: [t for t in texts(h, thread) if f"自動割り当て（順番制）: <@{STAFF}>" in t]  # noqa: E731
    assert wait_until(said, timeout=30)
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "自動割り当て" in refused[0].args.get("text", "")  # it did wait
    assert len(said()) == 1 and h.conv(HANAKO).assignee == STAFF
    assert any(e.get("action") == "assign" for e in rt.store.events(conv_id))  # the history has it too
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done


def test_skips_away_off_duty_and_full(h, settings):
    rt = Runtime(settings)
    h.slack.presence = {STAFF: "away"}
    try:
        trouble(h, HANAKO)
        assert assigned(h, HANAKO) == STAFF2          # USTAFF01 is away
    finally:
        h.slack.presence = {}
    rt.domain.automation.state.set_duty(STAFF2, False)  # USTAFF02 switched off duty
    try:
        trouble(h, TARO)
        assert assigned(h, TARO) == STAFF
    finally:
        rt.domain.automation.state.set_duty(STAFF2, True)
    # USTAFF01 has 1 open, USTAFF02 1: one more each, then both are at the limit of 2
    for user, name in ((JIRO, "次郎"), (SABURO, "三郎")):
        h.line.add_user(user, name)
        trouble(h, user)
        assigned(h, user)
    assert sorted(h.conv(u).assignee for u in (HANAKO, TARO, JIRO, SABURO)) == [STAFF, STAFF, STAFF2, STAFF2]
    fifth = "U" + "5" * 32
    h.line.add_user(fifth, "五郎")
    thread = trouble(h, fifth)
    assert wait_until(lambda: any("対応可能な担当者がいません" in t for t in texts(h, thread)), timeout=20)
    settle(h)
    assert h.conv(fifth).assignee == ""


def test_new_conversations_when_configured(h, bridge_env, tmp_path: Path):
    config = tmp_path / "bridge.toml"
    config.write_text('[assignment]\non = ["new"]\nmembers = ["USTAFF02"]\n', encoding="utf-8")
    rt = Runtime(Settings.from_env({**bridge_env, "BRIDGE_CONFIG": str(config)}))
    queue = RecordingQueue()
    assignment = in_process_domain(rt, queue).automation.assignment
    queued = queue.now
    h.friend_says(HANAKO, "はじめまして")
    h.thread_of(HANAKO)
    assert wait_until(lambda: h.conv(HANAKO).last_message_at > 0)
    new = h.conv(HANAKO)
    from dataclasses import replace

    assignment.on_friend_message(replace(new, last_message_at=0.0))
    assignment.on_friend_message(new)   # not new any more: nothing
    assert len(queued) == 1 and queued[0][3] == "auto_assign"
    assignment.handle_item(queued[0][4])
    assert h.conv(HANAKO).assignee == STAFF2


def test_round_robin_among_a_slack_user_group(h, bridge_env, tmp_path: Path, monkeypatch):
    """``duty_group``: the on-duty list is the group's members (usergroups.users.list through the SDK),
    read again when the brief cache expires; when Slack fails, the last known members are used."""
    config = tmp_path / "bridge.toml"
    config.write_text('[assignment]\non = ["new"]\nduty_group = "S0DUTY01"\n', encoding="utf-8")
    # This in-process runtime posts without pacing (no drain here to come back for a turn).
    rt = Runtime(Settings.from_env({**bridge_env, "BRIDGE_CONFIG": str(config), "SLACK_RATE_LIMITS": "off"}))
    h.slack.add_usergroup("S0DUTY01", "line-duty", [STAFF2, STAFF])
    queue = RecordingQueue()
    assignment = in_process_domain(rt, queue).automation.assignment
    queued = queue.now

    def new_conversation(user: str, name: str) -> str:
        h.line.add_user(user, name)
        h.friend_says(user, "はじめまして")
        h.thread_of(user)
        assert wait_until(lambda: h.conv(user).last_message_at > 0)
        from dataclasses import replace

        queued.clear()
        assignment.on_friend_message(replace(h.conv(user), last_message_at=0.0))
        assignment.handle_item(queued[0][4])
        return h.conv(user).assignee

    assert [new_conversation(u, n) for u, n in ((HANAKO, "花子"), (TARO, "太郎"), (JIRO, "次郎"))] == [STAFF2, STAFF, STAFF2]
    assert len(h.slack.calls_for("usergroups.users.list")) == 1            # cached between assignments
    h.slack.add_usergroup("S0DUTY01", "line-duty", [STAFF2])               # STAFF left the group…
    h.store.r.delete(h.store.keys.usergroup(group="S0DUTY01"))             # …and the cache expired
    assert new_conversation(SABURO, "三郎") == STAFF2
    h.store.r.delete(h.store.keys.usergroup(group="S0DUTY01"))
    h.slack.fail_next("usergroups.users.list", status=500)                # Slack fails: the last known list
    fifth = "U" + "5" * 32
    assert new_conversation(fifth, "五郎") == STAFF2
    assert len(h.slack.calls_for("usergroups.users.list")) == 3


def test_duty_group_must_be_a_user_group_id():
    import pytest

    from bridge.config import ConfigError, parse_config

    ok = parse_config('[assignment]\nduty_group = "S0DUTY01"\n', "bridge.toml", ["default"]).automation
    assert ok.of("default").assignment.duty_group == "S0DUTY01" and ok.of("default").assignment.members == ()
    with pytest.raises(ConfigError) as exc:
        parse_config('[assignment]\non = ["new"]\nduty_group = "@duty"\n', "bridge.toml", ["default"])
    errors = "\n".join(exc.value.errors)
    assert "bridge.toml:3: [assignment] duty_group: must be a Slack user group ID" in errors
    assert "duty_group (a Slack user group ID)" in errors   # and then there is no on-duty list at all
