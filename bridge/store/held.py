"""The undo window's state on a staff message's record (``msg:slack:<channel>:<ts>``), changed atomically.

``delivery`` goes ``(none|held) → sending → sent|failed``, or ``→ cancelled`` (deleted in time).
An edit in time stores ``edited_text``; the send reads it in the same step that claims the
message, so an edit either changes what is sent or is told it came too late — never both.
"""
from __future__ import annotations

import redis

from bridge.keys import Keys
from bridge.store.core import RECORD_TTL

_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'delivery') or ''
if state == 'cancelled' or state == 'sent' or state == 'failed' then return {state, ''} end
redis.call('HSET', KEYS[1], 'delivery', 'sending')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {'sending', redis.call('HGET', KEYS[1], 'edited_text') or ''}
"""
# ARGV: ttl, op ("edit" | "delete"), text
_CHANGE = """
local state = redis.call('HGET', KEYS[1], 'delivery') or ''
if state == 'sending' or state == 'sent' or state == 'failed' or state == 'cancelled' then return state end
if ARGV[2] == 'delete' then
  redis.call('HSET', KEYS[1], 'delivery', 'cancelled')
else
  redis.call('HSET', KEYS[1], 'edited_text', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 'changed'
"""
# ARGV: ttl, user. The author asked to skip the rest of the window ("今すぐ送信（無料）").
_SEND_NOW = """
local state = redis.call('HGET', KEYS[1], 'delivery') or ''
if state ~= '' and state ~= 'held' then return state end
redis.call('HSET', KEYS[1], 'send_now', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 'waiting'
"""


class HeldSends:
    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys
        self._claim = r.register_script(_CLAIM)
        self._change = r.register_script(_CHANGE)
        self._send_now = r.register_script(_SEND_NOW)

    def claim(self, channel: str, ts: str) -> tuple[str, str]:
        """Claim the message for sending: ("sending", edited text or "") or (final state, "") if not to send."""
        state, text = self._claim(keys=[self.keys.slack_msg(channel=channel, ts=ts)], args=[RECORD_TTL])
        return state, text

    def change(self, channel: str, ts: str, op: str, text: str = "") -> str:
        """Edit or cancel a message not yet sent: "changed", or the state that made it too late."""
        return self._change(keys=[self.keys.slack_msg(channel=channel, ts=ts)], args=[RECORD_TTL, op, text])

    def send_now(self, channel: str, ts: str, user: str) -> str:
        """Mark a waiting message to be sent without waiting for the rest of its window: "waiting"
        (its stream should be woken), or the state that made it moot (sending, sent, cancelled…).
        The send itself stays the stream's, claimed once by :meth:`claim`: a double click or the
        window's own timer cannot send it twice."""
        return self._send_now(keys=[self.keys.slack_msg(channel=channel, ts=ts)], args=[RECORD_TTL, user])

    def set(self, channel: str, ts: str, **fields: str) -> None:
        key = self.keys.slack_msg(channel=channel, ts=ts)
        self.r.hset(key, mapping=fields)
        self.r.expire(key, RECORD_TTL)
