"""Redis-backed state: conversations (portals), the message map, idempotency records.

All keys come from :mod:`bridge.keys`. The store speaks only neutral types
(:mod:`bridge.model`) and JSON-able dicts.
"""
from __future__ import annotations

import json
import time
from typing import Any

import redis

from bridge.keys import Keys
from bridge.model import Conversation
from bridge.store.steps import Steps

RECORD_TTL = 30 * 24 * 3600     # idempotency records outlive any retry schedule by far
PROFILE_TTL = 24 * 3600         # LINE profile names/pictures change rarely; refresh daily

# Atomically create the conversation unless it exists; the number comes from a counter.
_CREATE_CONVERSATION = """
if redis.call('HEXISTS', KEYS[1], 'conv_id') == 1 then return 0 end
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('HSET', KEYS[1], 'number', n)
redis.call('HSET', KEYS[3], n, ARGV[1])
return n
"""

# Take the conversation's reply token if it is fresh; a token is single-use, so it is
# removed in the same step (two workers can never both get it).
_TAKE_REPLY_TOKEN = """
local token = redis.call('HGET', KEYS[1], 'reply_token')
local at = tonumber(redis.call('HGET', KEYS[1], 'reply_token_at') or '0')
redis.call('HDEL', KEYS[1], 'reply_token', 'reply_token_at')
if (not token) or token == '' then return false end
if tonumber(ARGV[1]) - at > tonumber(ARGV[2]) then return false end
return {token, tostring(at)}
"""


# The waiting clock ("waiting since" = first friend message not yet answered) is written by
# two streams at once (friend messages on the LINE stream, staff replies on the Slack
# thread's stream), so both updates are compare-and-set steps in Redis, decided by the
# messages' own times rather than by which worker happens to run first.
_START_WAITING = """
local ws = tonumber(redis.call('HGET', KEYS[1], 'waiting_since') or '0') or 0
local t = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'last_message_at') or '0') or 0
if t > last then redis.call('HSET', KEYS[1], 'last_message_at', ARGV[1]) end
if ws == 0 then redis.call('HSET', KEYS[1], 'waiting_since', ARGV[1]) return 1 end
return 0
"""
_STOP_WAITING = """
local ws = tonumber(redis.call('HGET', KEYS[1], 'waiting_since') or '0') or 0
local last = tonumber(redis.call('HGET', KEYS[1], 'last_message_at') or '0') or 0
local r = tonumber(ARGV[1])
local prev = tonumber(redis.call('HGET', KEYS[1], 'last_staff_reply_at') or '0') or 0
if r > prev then redis.call('HSET', KEYS[1], 'last_staff_reply_at', ARGV[1]) end
if ws == 0 or ws > r then return 0 end
if last > r then
  -- the friend wrote again after this reply: still waiting (since their newest message at the latest)
  redis.call('HSET', KEYS[1], 'waiting_since', tostring(last))
  return 0
end
redis.call('HSET', KEYS[1], 'waiting_since', '0')
return 1
"""


class Store:
    """Typed access to the bridge's Redis state."""

    def __init__(self, r: redis.Redis, keys: Keys):
        self.r = r
        self.keys = keys
        self._create = r.register_script(_CREATE_CONVERSATION)
        self._take_token = r.register_script(_TAKE_REPLY_TOKEN)
        self._start_waiting = r.register_script(_START_WAITING)
        self._stop_waiting = r.register_script(_STOP_WAITING)

    # -- conversations (portals) -------------------------------------------------
    def get_conversation(self, conv_id: str) -> Conversation | None:
        data = self.r.hgetall(self.keys.conv(conv_id=conv_id))
        # A hash without its id is not a conversation (e.g. a token written while it was deleted).
        return Conversation.from_hash(data) if data.get("conv_id") else None

    def get_by_thread(self, channel: str, thread_ts: str) -> Conversation | None:
        conv_id = self.r.get(self.keys.conv_by_thread(channel=channel, ts=thread_ts))
        return self.get_conversation(conv_id) if conv_id else None

    def get_by_number(self, number: int | str) -> Conversation | None:
        conv_id = self.r.hget(self.keys.conv_by_number(), str(number))
        return self.get_conversation(conv_id) if conv_id else None

    def ensure_conversation(self, conv: Conversation) -> tuple[Conversation, bool]:
        """Create ``conv`` (its number is assigned here) unless it exists. Returns (conversation, created)."""
        fields = conv.to_hash()
        fields.pop("number", None)
        flat: list[str] = []
        for k, v in fields.items():
            flat += [k, v]
        created = self._create(
            keys=[self.keys.conv(conv_id=conv.conv_id), self.keys.conv_counter(), self.keys.conv_by_number()],
            args=[conv.conv_id, *flat],
        )
        current = self.get_conversation(conv.conv_id)
        assert current is not None
        return current, bool(created)

    def update_conversation(self, conv_id: str, **changes: Any) -> None:
        mapping = {}
        for k, v in changes.items():
            mapping[k] = ("1" if v else "0") if isinstance(v, bool) else str(v)
        self.r.hset(self.keys.conv(conv_id=conv_id), mapping=mapping)

    def bind_thread(self, conv_id: str, channel: str, thread_ts: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.keys.conv(conv_id=conv_id), mapping={"channel": channel, "thread_ts": thread_ts})
        pipe.set(self.keys.conv_by_thread(channel=channel, ts=thread_ts), conv_id)
        pipe.execute()

    # -- the waiting clock ------------------------------------------------------------
    def friend_wrote(self, conv_id: str, sent_at: float) -> bool:
        """A friend message sent at ``sent_at``: start the clock unless it runs. True if it started."""
        return bool(self._start_waiting(keys=[self.keys.conv(conv_id=conv_id)], args=[repr(float(sent_at))]))

    def staff_replied(self, conv_id: str, replied_at: float) -> bool:
        """A staff reply posted at ``replied_at`` stops the clock for friend messages sent before it.

        A friend message newer than the reply keeps it running, whichever worker ran first.
        True if the clock stopped.
        """
        return bool(self._stop_waiting(keys=[self.keys.conv(conv_id=conv_id)], args=[repr(float(replied_at))]))

    # -- reply tokens -------------------------------------------------------------
    def save_reply_token(self, conv_id: str, token: str, received_at: float) -> None:
        """Keep only the newest reply token of a conversation (older ones are useless for staff replies)."""
        self.r.hset(self.keys.conv(conv_id=conv_id), mapping={"reply_token": token, "reply_token_at": str(received_at)})

    def take_reply_token(self, conv_id: str, max_age: float, now: float | None = None) -> tuple[str, float] | None:
        """Take (and remove) the conversation's reply token if younger than ``max_age``: (token, received_at)."""
        got = self._take_token(keys=[self.keys.conv(conv_id=conv_id)], args=[now or time.time(), max_age])
        return (got[0], float(got[1])) if got else None

    # -- message map --------------------------------------------------------------
    def link_line_message(self, account: str, message_id: str, conv_id: str, slack_ts: str, **tokens: str) -> None:
        """Map a LINE message to the Slack message that shows it (plus quote/markAsRead tokens for later)."""
        key = self.keys.line_msg(account=account, message_id=message_id)
        self.r.hset(key, mapping={"conv_id": conv_id, "slack_ts": slack_ts, **{k: v for k, v in tokens.items() if v}})
        self.r.expire(key, RECORD_TTL)

    def get_line_message(self, account: str, message_id: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.line_msg(account=account, message_id=message_id))

    def link_slack_message(self, channel: str, ts: str, conv_id: str, kind: str, **extra: str) -> None:
        key = self.keys.slack_msg(channel=channel, ts=ts)
        self.r.hset(key, mapping={"conv_id": conv_id, "kind": kind, **{k: str(v) for k, v in extra.items()}})
        self.r.expire(key, RECORD_TTL)

    def get_slack_message(self, channel: str, ts: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.slack_msg(channel=channel, ts=ts))

    # -- LINE bots (webhook destinations) ---------------------------------------------------
    def bot_account_id(self, account: str) -> str:
        """The learned bot user id (webhook destination) of ``account``, or ""."""
        return self.r.hget(self.keys.line_bots(), account) or ""

    def remember_bot(self, bot_user_id: str, account: str) -> None:
        self.r.hsetnx(self.keys.line_bots(), account, bot_user_id)

    def take_mark_as_read_token(self, conv_id: str) -> str:
        """The newest markAsReadToken, removed (a person now read the chat)."""
        pipe = self.r.pipeline()
        pipe.hget(self.keys.conv(conv_id=conv_id), "mark_as_read_token")
        pipe.hdel(self.keys.conv(conv_id=conv_id), "mark_as_read_token")
        return pipe.execute()[0] or ""

    # -- forwarding targets' health ----------------------------------------------------------
    def forward_failure(self, account: str, target: str, error: str, now: float) -> dict[str, str]:
        """Count a failed forward; returns the target's status (first_failure_at, failures, alerted, last_error)."""
        key = self.keys.forward_status(account=account, target=target)
        pipe = self.r.pipeline()
        pipe.hsetnx(key, "first_failure_at", repr(now))
        pipe.hincrby(key, "failures", 1)
        pipe.hset(key, mapping={"last_error": error, "last_failure_at": repr(now)})
        pipe.hgetall(key)
        return pipe.execute()[-1]

    def forward_success(self, account: str, target: str) -> dict[str, str]:
        """A forward succeeded: clear the failure status; returns what it was."""
        key = self.keys.forward_status(account=account, target=target)
        pipe = self.r.pipeline()
        pipe.hgetall(key)
        pipe.delete(key)
        return pipe.execute()[0]

    def forward_status_set(self, account: str, target: str, **fields: str) -> None:
        self.r.hset(self.keys.forward_status(account=account, target=target), mapping=fields)

    def forward_status(self, account: str, target: str) -> dict[str, str]:
        return self.r.hgetall(self.keys.forward_status(account=account, target=target))

    # -- notes and the audit trail --------------------------------------------------
    def add_note(self, conv_id: str, author: str, text: str, slack_ts: str, at: float) -> None:
        self.r.rpush(self.keys.notes(conv_id=conv_id), json.dumps({"author": author, "text": text, "ts": slack_ts, "at": at}, ensure_ascii=False))

    def notes(self, conv_id: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self.keys.notes(conv_id=conv_id), 0, -1)]

    def add_event(self, conv_id: str, event: dict[str, Any]) -> None:
        """Append a state change to the conversation's audit trail."""
        self.r.rpush(self.keys.events(conv_id=conv_id), json.dumps(event, ensure_ascii=False))

    def events(self, conv_id: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self.keys.events(conv_id=conv_id), 0, -1)]

    def add_dead_letter(self, item: dict[str, Any], reason: str, at: float) -> None:
        self.r.rpush(self.keys.dead_letters(), json.dumps({**item, "reason": reason, "at": at}, ensure_ascii=False))

    # -- channel membership (who may see and change triage state) -----------------------------
    def channel_members(self, channel: str) -> set[str] | None:
        """The cached members of ``channel``, or None when not cached."""
        key = self.keys.channel_members(channel=channel)
        pipe = self.r.pipeline()
        pipe.exists(key)
        pipe.smembers(key)
        exists, members = pipe.execute()
        return set(members) if exists else None

    def cache_channel_members(self, channel: str, members: list[str], ttl: int) -> None:
        key = self.keys.channel_members(channel=channel)
        pipe = self.r.pipeline()
        pipe.delete(key)
        pipe.sadd(key, *(members or ["-"]))
        pipe.expire(key, ttl)
        pipe.execute()

    # -- coalescing flags (at most one pending job of a kind per conversation) -----------------
    def claim_flag(self, key: str, ttl: int) -> bool:
        """Set ``key`` unless set; True when this caller set it."""
        return bool(self.r.set(key, "1", nx=True, ex=max(1, int(ttl))))

    def clear_flag(self, key: str) -> None:
        self.r.delete(key)

    # -- idempotency records of outbound side effects ----------------------------------
    def get_record(self, kind: str, key: str) -> dict[str, str]:
        return self.r.hgetall(self._record_key(kind, key))

    def set_record(self, kind: str, key: str, **fields: Any) -> None:
        rk = self._record_key(kind, key)
        pipe = self.r.pipeline()
        pipe.hset(rk, mapping={k: str(v) for k, v in fields.items()})
        pipe.expire(rk, RECORD_TTL)
        pipe.execute()

    def steps(self, item: str) -> Steps:
        """The steps of work item ``item`` done so far, each once across its retries (:mod:`bridge.store.steps`)."""
        return Steps(self.r, self.keys.steps(item=item), RECORD_TTL)

    def _record_key(self, kind: str, key: str) -> str:
        if kind == "slack_post":
            return self.keys.slack_post(post_key=key)
        if kind == "line_send":
            return self.keys.line_send(send_key=key)
        if kind == "media":
            return self.keys.media(media_key=key)
        if kind == "op":
            return self.keys.op_applied(op_id=key)
        raise ValueError(kind)

    # -- dead letters ------------------------------------------------------------------------
    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.r.lrange(self.keys.dead_letters(), 0, -1)]

    def dead_letter_count(self) -> int:
        return int(self.r.llen(self.keys.dead_letters()))

    def pop_dead_letter(self) -> str | None:
        """Take the oldest dead letter (raw JSON), or None."""
        return self.r.lpop(self.keys.dead_letters())

    def return_dead_letter(self, raw: str) -> None:
        """Put a taken dead letter back in front (its replay failed: nothing is lost)."""
        self.r.lpush(self.keys.dead_letters(), raw)

    # -- caches -------------------------------------------------------------------------
    def cache_get(self, key: str) -> str | None:
        return self.r.get(key)

    def cache_set(self, key: str, value: str, ttl: int) -> None:
        self.r.set(key, value, ex=ttl)

    def cache_get_hash(self, key: str) -> dict[str, str]:
        return self.r.hgetall(key)

    def cache_set_hash(self, key: str, mapping: dict[str, str], ttl: int) -> None:
        pipe = self.r.pipeline()
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, ttl)
        pipe.execute()

    def cached_json(self, key: str) -> Any:
        raw = self.r.get(key)
        return json.loads(raw) if raw else None

    def cache_json(self, key: str, value: Any, ttl: int = PROFILE_TTL) -> None:
        self.r.set(key, json.dumps(value, ensure_ascii=False), ex=ttl)

    def delete_namespace(self) -> int:
        """Delete every key of this namespace (tests and `bridge reset`)."""
        n = 0
        batch: list[str] = []
        for key in self.r.scan_iter(match=self.keys.pattern(), count=1000):
            batch.append(key)
            if len(batch) >= 500:
                n += self.r.delete(*batch)
                batch = []
        if batch:
            n += self.r.delete(*batch)
        return n

