"""A person edits or deletes their own message in the Slack emulator (what the sandbox page sends
on as ``message_changed`` / ``message_deleted``): what the API then returns."""
from __future__ import annotations

import pytest
from slack_sdk import WebClient

from emulators.server import serve_in_thread
from emulators.slack_api import SlackEmulator

CHANNEL, HUMAN, OTHER = "C0SUPPORT", "U0HUMAN", "U0OTHER"


@pytest.fixture()
def emu():
    emu = SlackEmulator()
    server = serve_in_thread(emu.app)
    emu.url = server.url
    emu.add_channel(CHANNEL, "support", members=[HUMAN, OTHER])
    emu.add_user(HUMAN, "taro")
    emu.add_user(OTHER, "hanako")
    yield emu
    server.stop()


def history(emu: SlackEmulator, thread_ts: str) -> list[dict]:
    client = WebClient(token=emu.bot_token, base_url=emu.url + "/api/", timeout=5)
    return client.conversations_replies(channel=CHANNEL, ts=thread_ts)["messages"]


def test_an_edit_changes_the_text_and_marks_it_edited(emu: SlackEmulator):
    parent = emu.add_user_message(CHANNEL, OTHER, "question")
    reply = emu.add_user_message(CHANNEL, HUMAN, "10 時です", thread_ts=parent["ts"])
    previous, edited = emu.edit_user_message(CHANNEL, reply["ts"], HUMAN, "11 時です")
    assert previous["text"] == "10 時です" and "edited" not in previous
    assert edited["text"] == "11 時です" and edited["edited"]["user"] == HUMAN
    shown = history(emu, parent["ts"])[-1]
    assert (shown["ts"], shown["text"], shown["thread_ts"]) == (reply["ts"], "11 時です", parent["ts"])
    assert "11 時です" in str(shown["blocks"])  # the rich_text the client shows follows the edit


def test_a_delete_removes_the_reply_from_its_thread(emu: SlackEmulator):
    parent = emu.add_user_message(CHANNEL, OTHER, "question")
    reply = emu.add_user_message(CHANNEL, HUMAN, "間違い", thread_ts=parent["ts"])
    previous = emu.delete_user_message(CHANNEL, reply["ts"], HUMAN)
    assert previous["text"] == "間違い"
    assert [m["ts"] for m in history(emu, parent["ts"])] == [parent["ts"]]
    assert emu.message(CHANNEL, parent["ts"]).get("reply_count", 0) == 0


def test_only_your_own_message(emu: SlackEmulator):
    parent = emu.add_user_message(CHANNEL, OTHER, "question")
    with pytest.raises(KeyError):
        emu.edit_user_message(CHANNEL, parent["ts"], HUMAN, "not mine")
    with pytest.raises(KeyError):
        emu.delete_user_message(CHANNEL, parent["ts"], HUMAN)
    assert emu.message(CHANNEL, parent["ts"])["text"] == "question"
