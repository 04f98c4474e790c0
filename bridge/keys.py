"""The one place that names Redis keys.

Every key the bridge reads or writes is built here, under a versioned namespace
(``<namespace>:v1:...``), so a schema change can move to ``v2`` and a test run can
use its own namespace. Nothing else in the code base formats a key string.
"""
from __future__ import annotations

SCHEMA_VERSION = "v2"   # v1: one LINE account (migrated by bridge.migrate)

# kind -> template of the key's remaining parts; documents every key in one table.
KINDS: dict[str, str] = {
    "conv": "conv:{conv_id}",                         # hash: one conversation (the "portal")
    "conv_by_thread": "conv-by-thread:{channel}:{ts}",  # string: thread parent ts -> conv_id
    "conv_by_number": "conv-by-number",               # hash: number -> conv_id
    "conv_counter": "conv-counter",                   # int: last conversation number
    "line_msg": "msg:line:{account}:{message_id}",    # hash: LINE message id -> slack ts, tokens, preview, history time (at), its part of a shared post (shown, sent), unsent/edited
    "slack_msg": "msg:slack:{channel}:{ts}",          # hash: Slack message -> conversation, kind, delivery
    "notes": "notes:{conv_id}",                       # list of JSON internal notes
    "events": "events:{conv_id}",                     # list of JSON state changes (audit trail)
    "dedupe": "dedupe:{origin}:{event_id}",           # string: event id already accepted (origin "line-<account>", "slack", "fwd-<account>-<target>")
    "inbox": "inbox:{stream}",                        # list of JSON work items, processed in order
    "inbox_lock": "inbox-lock:{stream}",              # string: token of the worker draining the stream
    "inbox_wakeup": "inbox-wakeup:{stream}",          # (unused since the due set; kept for old data)
    "inbox_drain_queued": "inbox-drain-queued:{stream}",  # string: a drain job waits in the rq queue
    "inbox_hold": "inbox-hold:{stream}",              # string: epoch until which the stream backs off
    "inbox_wake": "inbox-wake:{stream}",              # string: woken early (Inbox.wake): the next pause is skipped once
    "inbox_attempts": "inbox-attempts:{stream}",      # hash: item id -> failed attempts
    "slack_post": "slack-post:{post_key}",            # hash: idempotency record of one Slack post
    "line_send": "line-send:{send_key}",              # hash: idempotency record of one LINE send
    "parent_refresh": "parent-refresh:{conv_id}",      # string: a parent refresh job is queued
    "parent_first": "parent-first:{conv_id}",          # string: the friend's first messages as the thread parent shows them (mrkdwn)
    "slack_waiting": "slack-waiting:{channel}",        # zset: conv_id -> since when it waits for a Slack post (saturation notice)
    "saturation": "saturation:{channel}",              # hash: the channel's saturation notice (ts, state, posted_at, key)
    "profile": "profile:{conv_id}:{user_id}",         # string: cached LINE profile JSON
    "slack_user": "slack-user:{user_id}",             # string: cached Slack user display name
    "slack_handle": "slack-handle:{user_id}",         # string: cached Slack user handle (ASCII labels of the /stats chart)
    "usergroup": "usergroup:{group}",                 # string: JSON members of a Slack user group (brief TTL: refreshed on expiry)
    "usergroup_last": "usergroup-last:{group}",       # string: JSON last members read successfully (fallback when Slack fails)
    "slack_user_icon": "slack-user-icon:{user_id}",   # string: cached Slack user profile picture URL
    "canned_pick": "canned-pick:{op_id}",             # hash: a 定型文 picked in the modal: its expanded text, its post's ts
    "dead_letters": "dead-letters",                   # list of JSON items given up on (kept for inspection)
    "metrics": "metrics",                             # hash: worker-side counters for /metrics ("name|label=value…" -> n)
    "metrics_quota": "metrics-quota:{account}",       # string: LINE messages used this month (cached for /metrics)
    "backlog_all": "backlog:{account}:all",           # zset: an account's open conversations, score = mark rank * 1e11 + waiting_since
    "backlog_mark": "backlog:{account}:mark:{mark}",  # zset: same score, one per account and mark
    "backlog_assignee": "backlog:{account}:assignee:{assignee}",  # zset: same score, per account and assignee ("-" = unassigned)
    "backlog_where": "backlog:where",                 # hash: conv_id -> "<mark>\t<assignee>" it is indexed under
    "backlog_lock": "backlog:rebuild-lock",           # string: one process rebuilds the indexes at a time
    "channel_members": "channel-members:{channel}",   # set: cached members of the triage channel
    "workspace_url": "slack-workspace-url",           # string: https://<team>.slack.com/archives/ (for thread links)
    "backlog_meta": "backlog:meta",                   # hash: fingerprint of the mark order the scores were built with
    "bot_identity": "slack-bot-identity",             # hash: bot user id / bot id from auth.test
    "line_bots": "line-bots",                         # hash: account key -> its LINE bot user id (webhook destination)
    "forward_status": "forward:{account}:{target}",   # hash: a forwarding target's failures (first_failure_at, alerted…)
    "inbox_active": "inbox-active",                   # set: streams with pending items (the sweeper's list)
    "inbox_sweep_lock": "inbox-sweep-lock",           # string: one worker sweeps per interval
    "due": "due",                                     # zset: "<kind>\t<target>" -> due time (ms, Redis clock)
    "migration": "migration:{name}",                  # string: a data migration is done ("done") or running (lock)
    "rate_bucket": "rate:{tier}:{scope}",             # hash: Slack rate limiter bucket (tat, shift, blocked), see bridge.slack.ratelimit
    "rate_ticket": "rate-ticket:{tier}:{scope}:{owner}",  # string: a caller's reserved turn in that bucket ("<slot> <shift>")
    "media": "media:{media_key}",                     # hash: one media relay (attempts, Slack file ids, ts)
    "media_hits": "media-hits:{link}:{client}",       # int: /media requests of one link from one client this window (TTL)
    "image_set": "image-set:{account}:{set_id}",      # hash: index -> LINE message id of an imageSet being collected (+ first_at, partial)
    "quota_warned": "quota-warned:{account}:{month}:{level}",  # string: the 80 %/100 % quota warning was posted
    "quota": "quota:{account}",                       # string: JSON {limit, used, at} of the month's message quota
    "quota_pushes": "quota-pushes:{account}",         # int: pushes made since the cached quota was read from LINE
    "quota_read": "quota-read:{account}",             # string: LINE's quota was read this minute (lease, TTL 60 s)
    # automation (business hours, SLA, reminders: bridge/automation/)
    "clock": "test-clock",                            # string: fixed "now" of a test run (read only with BRIDGE_TEST_CLOCK=1)
    "closed_reply": "closed-reply:{conv_id}:{period}",  # string: the closed period's auto-reply was sent (event id)
    "sweep_tick": "automation:tick",                  # string: a worker enqueued the periodic sweep (lock, TTL = interval)
    "sweep_lock": "automation:sweep-lock",            # string: a sweep is running
    "hours_state": "automation:hours-state",          # hash: account -> "open"/"closed" seen by the last sweep
    "hours_closed_shown": "automation:hours-closed-shown",  # set of accounts with a parent rendered 🌙 営業時間外 since the last opening
    "sla_breaches": "sla-breaches:{account}",         # zset: "<conv_id>:<level>:<waiting_since>" -> when alerted (stats)
    "reminder": "reminder:{conv_id}",                 # hash: 返信待ち reminders: count, last period, off
    "duty": "duty",                                   # hash: Slack user id -> "off" when off duty (fair assignment)
    "assign_turn": "assign-turn:{account}",           # int: round-robin pointer of an account's on-duty list
    "stats": "stats:{account}:{what}",                # zset: JSON records (opened/response/resolved/follow) scored by time (/stats, App Home)
    "episode": "episode",                             # hash: conv_id -> when its current open episode began (/stats)
    "follow": "follow:{conv_id}",                     # hash: a LINE friend's last follow (at, unblocked) and unfollow (blocked, unfollowed_at)
    "friend": "friend:{conv_id}",                     # hash: 友だち情報 of a conversation (f.<field>, tags JSON, note)
    "friend_tag": "friend-tag:{account}:{tag}",       # set: conv_ids carrying a tag (normalized)
    "friend_field": "friend-field:{account}:{field}:{value}",  # set: conv_ids whose field has this (normalized) value
    "friend_names": "friend-names:{account}",         # zset (lex, score 0): "<normalized name>\0<conv_id>" for prefix search
    "friend_tmp": "friend-tmp:{token}",               # short-lived set/zset: intersections for /pending and /broadcast
    "transcript": "transcript:{conv_id}",             # zset: the chat history (JSON entries, score = time) for /export
    "canned": "canned:{account}",                     # hash: 定型文 key -> text managed from Slack (/canned)
    "broadcast": "broadcast:{bid}",                   # hash: one segment broadcast (status, counts, message)
    "broadcast_recipients": "broadcast:{bid}:to",     # list: the broadcast's LINE user ids, frozen when confirmed
    "broadcast_chunk": "broadcast:{bid}:chunk:{index}",  # hash: one chunk's result (status, sent, request id)
}


class Keys:
    """Builds namespaced keys: ``Keys("lsb").conv(conv_id="U1") == "lsb:v1:conv:U1"``."""

    def __init__(self, namespace: str):
        self.prefix = f"{namespace}:{SCHEMA_VERSION}:"

    def key_for(self, kind: str, **parts: str) -> str:
        try:
            template = KINDS[kind]
        except KeyError:  # pragma: no cover - programming error
            raise KeyError(f"unknown Redis key kind {kind!r}; add it to bridge.keys.KINDS") from None
        return self.prefix + template.format(**{k: str(v) for k, v in parts.items()})

    def pattern(self) -> str:
        """Glob matching every key of this namespace (used by cleanup in tests)."""
        return self.prefix + "*"

    def __getattr__(self, kind: str):
        if kind in KINDS:
            return lambda **parts: self.key_for(kind, **parts)
        raise AttributeError(kind)
