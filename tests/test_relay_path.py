"""A staff reply flows one way through the relay: each bridge.relay module is entered once per
run of its work item (never left and entered again), and a reply in its undo window is held
and its send scheduled at the window's end — not retried until the window is over."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from tests.conftest import HANAKO, STAFF, TRIAGE
from tests.helpers import RecordingQueue, in_process_domain


class ModulePath:
    """Which bridge.relay modules a piece of work enters, in order, and which it enters again after leaving."""

    def __init__(self):
        self.depth: dict[str, int] = {}
        self.entered: list[str] = []
        self.reentered: list[str] = []

    def profile(self, frame, event, arg):
        if event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("bridge.relay."):
            return
        depth = self.depth.get(module, 0)
        if event == "call":
            if depth == 0:
                (self.reentered if module in self.entered else self.entered).append(module)
            self.depth[module] = depth + 1
        else:
            self.depth[module] = max(0, depth - 1)

    @contextmanager
    def tracing(self):
        sys.setprofile(self.profile)
        try:
            yield self
        finally:
            sys.setprofile(None)


def staff_reply(ip, thread: str, text: str, **extra) -> tuple[dict, dict]:
    message = ip.slack.add_user_message(TRIAGE, STAFF, text, thread_ts=thread)
    return message, {"kind": ip.work.SLACK_MESSAGE, "payload": {
        "channel": TRIAGE, "ts": message["ts"], "thread_ts": thread, "user": STAFF, "text": text, **extra}}


def test_a_typed_staff_reply_passes_each_relay_module_once(ip):
    ip.friend_says(HANAKO, "予約できますか")
    _, item = staff_reply(ip, ip.conv(HANAKO).thread_ts, "はい、できます")
    with ModulePath().tracing() as path:
        assert ip.domain.process_head([item]) == 1  # as a worker drains the thread's stream
    assert [d.via for d in ip.line.deliveries] == ["reply"]
    assert not {"bridge.relay.line_head", "bridge.relay.line_in"} & set(path.entered)  # not through friend batching
    # the path really went through the outbound stages (the test would see a module entered twice)
    for stage in ("slack_in", "filters", "reply", "undo", "canned_send", "delivery", "decorations", "portal"):
        assert f"bridge.relay.{stage}" in path.entered, path.entered
    assert path.reentered == [], f"entered again after leaving: {path.reentered} (path: {path.entered})"


def test_a_reply_in_its_window_is_held_and_its_send_scheduled_once_at_the_windows_end(ip):
    queue = RecordingQueue()
    domain = in_process_domain(ip.rt, queue)
    ip.friend_says(HANAKO, "予約できますか")
    thread = ip.conv(HANAKO).thread_ts
    message, item = staff_reply(ip, thread, "はい、できます", send_at=time.time() + 30)
    with ModulePath().tracing() as held:
        domain.process_item(item)  # returns: the thread's stream is not held
    assert ip.line.deliveries == []
    ((delay, origin, _, stream, kind, payload),) = queue.later
    assert 28 < delay <= 30 and kind == ip.work.SLACK_MESSAGE and stream == ip.work.slack_stream(TRIAGE, thread)
    assert payload["due"] is True and payload["ts"] == message["ts"]
    assert [q[4]["reaction"] for q in queue.now] == ["hourglass_flowing_sand"]  # ⏳ queued on the decoration stream
    assert held.reentered == [] and "bridge.relay.delivery" not in held.entered
    domain.process_item(item)  # a retry of the first run: still held, ⏳ not queued twice
    assert len(ip.line.deliveries) == 0 and len(queue.now) == 1

    with ModulePath().tracing() as sent:
        domain.process_item({"kind": kind, "payload": payload})  # the window's end
    assert [(d.via, d.messages[0]["text"]) for d in ip.line.deliveries] == [("reply", "はい、できます")]
    assert sent.reentered == [], sent.entered
    assert [q[4]["reaction"] for q in queue.now][-1] == "free" and queue.now[-1][4]["waited"] is True  # 🆓, ⏳ away
    domain.process_item({"kind": kind, "payload": payload})  # the same send again (a duplicate): nothing more
    assert len(ip.line.deliveries) == 1


def test_a_reply_whose_window_is_over_when_its_turn_comes_still_goes_after_the_one_held_before_it(ip):
    queue = RecordingQueue()
    domain = in_process_domain(ip.rt, queue)
    ip.friend_says(HANAKO, "予約できますか")
    thread = ip.conv(HANAKO).thread_ts
    _, first = staff_reply(ip, thread, "はい", send_at=time.time() + 10)
    _, second = staff_reply(ip, thread, "何時がよいですか", send_at=time.time() - 1)  # its stream was slow
    domain.process_item(first)
    domain.process_item(second)
    assert ip.line.deliveries == []  # not sent ahead of the first
    (first_delay, *_), (second_delay, *_) = queue.later
    assert second_delay > first_delay
    for delay, _, _, _, kind, payload in sorted(queue.later, key=lambda q: q[0]):
        domain.process_item({"kind": kind, "payload": payload})
    assert [d.messages[0]["text"] for d in ip.line.deliveries] == ["はい", "何時がよいですか"]
    _, third = staff_reply(ip, thread, "どうぞ", send_at=time.time() - 1)  # nothing held any more: sent at once
    domain.process_item(third)
    assert [d.messages[0]["text"] for d in ip.line.deliveries][-1] == "どうぞ" and len(queue.later) == 2
