"""The side effects of one work item, each done once across the item's retries.

Why: a work item is run again from its start when one of its steps raises
:class:`~bridge.model.RetryLater` — most often a Slack post told to wait for the channel's turn.
Steps that already ran (a clock stopped, a record written, a state applied) then find nothing left
to do, and whatever came after them — a 定型文 echo, a parent refresh, an audit line — was skipped
for good while the item counted as done: a line lost without an error. ``Steps`` records each
step's result under the item's name as the step completes; the retry gets the recorded result back
instead of running the step again, and goes on with the first step not done.

Guarantees:

* a step that completed is not run again for the same item while its record lives (the store's
  ``RECORD_TTL``, far beyond any retry schedule); a step that raised runs again on the retry;
* results are JSON (what a later step needs from an earlier one survives the retry);
* a crash between a step's effect and its record runs the step again: steps must be harmless to
  repeat (``post_once``, an inbox ``accept`` with a key, set-like writes) — as every work item's
  steps already must be;
* :meth:`close` drops the record once the last step is done; the caller says in its own state
  that the item is settled (so a duplicate run stops before the first step).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import redis

T = TypeVar("T")


class Steps:
    """``steps.do("echo", lambda: post(...))``, ``first = steps.once("first", check)``: each runs at most
    once for this item (see the module doc)."""

    def __init__(self, r: redis.Redis, key: str, ttl: int) -> None:
        self.r = r
        self.key = key    # Keys.steps(item=...): made by Store.steps
        self.ttl = ttl

    def once(self, name: str, fn: Callable[[], T]) -> T:
        """``fn()``, or its recorded result when an earlier attempt of the item completed it."""
        done = self.r.hget(self.key, name)
        if done is not None:
            return json.loads(done)
        result = fn()
        pipe = self.r.pipeline()
        pipe.hset(self.key, name, json.dumps(result, ensure_ascii=False))
        pipe.expire(self.key, self.ttl)
        pipe.execute()
        return result

    def do(self, name: str, fn: Callable[[], Any]) -> None:
        """``fn()`` for its effect only, at most once for this item."""
        if self.r.hget(self.key, name) is None:
            fn()
            pipe = self.r.pipeline()
            pipe.hset(self.key, name, "null")
            pipe.expire(self.key, self.ttl)
            pipe.execute()

    def recall(self, name: str, default: Any = None) -> Any:
        """The recorded result of step ``name`` (``default`` when it has not completed)."""
        done = self.r.hget(self.key, name)
        return default if done is None else json.loads(done)

    def close(self) -> None:
        """Every step is done: the record is no longer needed."""
        self.r.delete(self.key)
