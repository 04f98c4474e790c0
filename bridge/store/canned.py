"""Redis state of 定型文 (canned replies) managed from Slack, and of a 定型文 picked in the modal.

Keys (:mod:`bridge.keys`)::

    canned(account)     hash: key -> text added with /canned (the config's own are not stored)
    canned_pick(op_id)  hash: the picked 定型文's expanded text and its post's ts (idempotency of the pick)
"""
from __future__ import annotations

import redis

from bridge.keys import Keys
from bridge.store.core import RECORD_TTL


class CannedTexts:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys

    def of(self, account: str) -> dict[str, str]:
        """key -> text of the account's Slack-managed 定型文, sorted by key."""
        return dict(sorted(self.r.hgetall(self.keys.canned(account=account)).items()))

    def put(self, account: str, key: str, text: str) -> None:
        self.r.hset(self.keys.canned(account=account), key, text)

    def delete(self, account: str, key: str) -> bool:
        """Whether there was such a 定型文."""
        return bool(self.r.hdel(self.keys.canned(account=account), key))

    # -- a 定型文 picked in the shortcut's modal ---------------------------------------------
    def pick(self, op_id: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.canned_pick(op_id=op_id))

    def keep_pick_text(self, op_id: str, text: str) -> dict[str, str]:
        """Record the pick's expanded text unless one is recorded (the first expansion is the one shown
        and sent); returns the record."""
        key = self.keys.canned_pick(op_id=op_id)
        pipe = self.r.pipeline()
        pipe.hsetnx(key, "text", text)
        pipe.expire(key, RECORD_TTL)
        pipe.hgetall(key)
        return pipe.execute()[2]

    def set_pick_ts(self, op_id: str, ts: str) -> None:
        self.r.hset(self.keys.canned_pick(op_id=op_id), "ts", ts)

    def claim_pick_shown(self, op_id: str, state: str) -> bool:
        """True for the one caller that first shows the pick's final state (sent, failed, cancelled)."""
        return bool(self.r.hsetnx(self.keys.canned_pick(op_id=op_id), "shown", state))
