"""bridge.store.steps: a work item's side effects, each done once across its retries."""
from __future__ import annotations

import uuid

import pytest

from bridge.model import RetryLater


def test_a_retry_resumes_at_the_step_that_had_to_wait(store):
    item = "test-" + uuid.uuid4().hex[:8]
    done: list[str] = []
    turn = {"given": False}

    def post():
        if not turn["given"]:
            raise RetryLater("wait for the channel's turn", delay=1, throttled=True)
        done.append("posted")

    def attempt():
        steps = store.steps(item)
        first = steps.once("first", lambda: done.append("clock stopped") or True)  # True only the first time
        steps.do("post", post)
        steps.do("refresh", lambda: done.append("refreshed"))
        steps.close()
        return first

    with pytest.raises(RetryLater):
        attempt()
    assert done == ["clock stopped"]
    turn["given"] = True
    assert attempt() is True                      # the recorded result, not a second run
    assert done == ["clock stopped", "posted", "refreshed"]
    assert not store.r.exists(store.keys.steps(item=item))   # closed: nothing left behind
