"""The one place that names Redis keys.

Every key the bridge reads or writes is built here, under a versioned namespace
(``<namespace>:v2:...``), so a schema change can move to ``v2`` and a test run can
use its own namespace. Nothing else in the code base formats a key string.
"""
from __future__ import annotations

import string

SCHEMA_VERSION = "v2"   # v1: one LINE account (migrated by bridge.migrate)


class Kind:
    """One kind of key: its template after the namespace prefix. ``Keys().<kind>(**parts)`` builds one,
    with exactly the template's parts (a missing or unknown part is a TypeError)."""

    def __init__(self, template: str):
        self.template = template
        self.parts = frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, keys: "Keys | None", owner: type | None = None):
        if keys is None:
            return self
        prefix = keys.prefix

        def build(**parts: object) -> str:
            if parts.keys() != self.parts:
                raise TypeError(f"key {self.name!r} takes exactly {sorted(self.parts)}, got {sorted(parts)}")
            return prefix + self.template.format(**{k: str(v) for k, v in parts.items()})

        return build


class Keys:
    """Builds namespaced keys: ``Keys("lsb").conv(conv_id="U1") == "lsb:v2:conv:U1"``.

    The table below is every key the bridge uses: kind = template after ``<namespace>:<version>:``,
    with what the key holds.
    """

    def __init__(self, namespace: str):
        self.prefix = f"{namespace}:{SCHEMA_VERSION}:"

    def pattern(self) -> str:
        """Glob matching every key of this namespace (used by cleanup in tests)."""
        return self.prefix + "*"

    conv = Kind("conv:{conv_id}")                         # hash: one conversation (the "portal")
    conv_by_thread = Kind("conv-by-thread:{channel}:{ts}")  # string: thread parent ts -> conv_id
    conv_by_number = Kind("conv-by-number")               # hash: number -> conv_id
    conv_counter = Kind("conv-counter")                   # int: last conversation number
    line_msg = Kind("msg:line:{account}:{message_id}")    # hash: LINE message id -> slack ts, tokens, preview, history time (at), its part of a shared post (shown, sent), unsent/edited
    slack_msg = Kind("msg:slack:{channel}:{ts}")          # hash: Slack message -> conversation, kind, delivery
    notes = Kind("notes:{conv_id}")                       # list of JSON internal notes
    events = Kind("events:{conv_id}")                     # list of JSON state changes (audit trail)
    dedupe = Kind("dedupe:{origin}:{event_id}")           # string: event id already accepted (origin "line-<account>", "slack", "fwd-<account>-<target>")
    inbox = Kind("inbox:{stream}")                        # list of JSON work items, processed in order
    inbox_lock = Kind("inbox-lock:{stream}")              # string: token of the worker draining the stream
    inbox_wakeup = Kind("inbox-wakeup:{stream}")          # (unused since the due set; kept for old data)
    inbox_drain_queued = Kind("inbox-drain-queued:{stream}")  # string: a drain job waits in the rq queue
    inbox_hold = Kind("inbox-hold:{stream}")              # string: epoch until which the stream backs off
    inbox_attempts = Kind("inbox-attempts:{stream}")      # hash: item id -> failed attempts
    slack_post = Kind("slack-post:{post_key}")            # hash: idempotency record of one Slack post
    line_send = Kind("line-send:{send_key}")              # hash: idempotency record of one LINE send
    steps = Kind("steps:{item}")                          # hash: step name -> JSON result, a work item's side effects done so far (bridge.store.steps); deleted once all are done
    op_applied = Kind("op-applied:{op_id}")               # hash: a triage op applied to the state: its audit line and changes, until said in the thread
    parent_refresh = Kind("parent-refresh:{conv_id}")      # string: a parent refresh job is queued
    parent_first = Kind("parent-first:{conv_id}")          # string: the friend's first messages as the thread parent shows them (mrkdwn)
    slack_waiting = Kind("slack-waiting:{channel}")        # zset: conv_id -> since when it waits for a Slack post (saturation notice)
    saturation = Kind("saturation:{channel}")              # hash: the channel's saturation notice (ts, state, posted_at, key)
    profile = Kind("profile:{conv_id}:{user_id}")         # string: cached LINE profile JSON
    slack_user = Kind("slack-user:{user_id}")             # string: cached Slack user display name
    slack_handle = Kind("slack-handle:{user_id}")         # string: cached Slack user handle (ASCII labels of the /stats chart)
    usergroup = Kind("usergroup:{group}")                 # string: JSON members of a Slack user group (brief TTL: refreshed on expiry)
    usergroup_last = Kind("usergroup-last:{group}")       # string: JSON last members read successfully (fallback when Slack fails)
    slack_user_icon = Kind("slack-user-icon:{user_id}")   # string: cached Slack user profile picture URL
    canned_pick = Kind("canned-pick:{op_id}")             # hash: a 定型文 picked in the modal: its expanded text, its post's ts
    dead_letters = Kind("dead-letters")                   # list of JSON items given up on (kept for inspection)
    metrics = Kind("metrics")                             # hash: worker-side counters for /metrics ("name|label=value…" -> n)
    metrics_quota = Kind("metrics-quota:{account}")       # string: LINE messages used this month (cached for /metrics)
    backlog_all = Kind("backlog:{account}:all")           # zset: an account's open conversations, score = mark rank * 1e11 + waiting_since
    backlog_mark = Kind("backlog:{account}:mark:{mark}")  # zset: same score, one per account and mark
    backlog_assignee = Kind("backlog:{account}:assignee:{assignee}")  # zset: same score, per account and assignee ("-" = unassigned)
    backlog_where = Kind("backlog:where")                 # hash: conv_id -> "<mark>\t<assignee>" it is indexed under
    backlog_lock = Kind("backlog:rebuild-lock")           # string: one process rebuilds the indexes at a time
    channel_members = Kind("channel-members:{channel}")   # set: cached members of the triage channel
    workspace_url = Kind("slack-workspace-url")           # string: https://<team>.slack.com/archives/ (for thread links)
    backlog_meta = Kind("backlog:meta")                   # hash: fingerprint of the mark order the scores were built with
    bot_identity = Kind("slack-bot-identity")             # hash: bot user id / bot id from auth.test
    line_bots = Kind("line-bots")                         # hash: account key -> its LINE bot user id (webhook destination)
    forward_status = Kind("forward:{account}:{target}")   # hash: a forwarding target's failures (first_failure_at, alerted…)
    inbox_active = Kind("inbox-active")                   # set: streams with pending items (the sweeper's list)
    inbox_sweep_lock = Kind("inbox-sweep-lock")           # string: one worker sweeps per interval
    due = Kind("due")                                     # zset: "<kind>\t<target>" -> due time (ms, Redis clock)
    migration = Kind("migration:{name}")                  # string: a data migration is done ("done") or running (lock)
    backfill = Kind("backfill:{name}")                    # hash: a background backfill's progress (cursor: SCAN cursor after the last batch, processed, resumes, chain, started_at, finished_at)
    backfill_lease = Kind("backfill-lease:{name}")        # string: token of the one job chain running that backfill (TTL: a killed chain's lease expires)
    backfill_tick = Kind("backfill-tick")                 # string: a worker checked the backfills this interval (lock, TTL = interval)
    rate_bucket = Kind("rate:{tier}:{scope}")             # hash: Slack rate limiter bucket (tat, shift, blocked), see bridge.slack.ratelimit
    rate_ticket = Kind("rate-ticket:{tier}:{scope}:{owner}")  # string: a caller's reserved turn in that bucket ("<slot> <shift>")
    media = Kind("media:{media_key}")                     # hash: one media relay (attempts, Slack file ids, ts)
    media_hits = Kind("media-hits:{link}:{client}")       # int: /media requests of one link from one client this window (TTL)
    image_set = Kind("image-set:{account}:{set_id}")      # hash: index -> LINE message id of an imageSet being collected (+ first_at, partial)
    quota_warned = Kind("quota-warned:{account}:{month}:{level}")  # string: the 80 %/100 % quota warning was claimed ("1": posted; "unsaid": its post waits for Slack)
    quota = Kind("quota:{account}")                       # string: JSON {limit, used, at} of the month's message quota
    quota_pushes = Kind("quota-pushes:{account}")         # int: pushes made since the cached quota was read from LINE
    quota_read = Kind("quota-read:{account}")             # string: LINE's quota was read this minute (lease, TTL 60 s)
    # automation (business hours, SLA, reminders: bridge/automation/)
    clock = Kind("test-clock")                            # string: fixed "now" of a test run (read only with BRIDGE_TEST_CLOCK=1)
    closed_reply = Kind("closed-reply:{conv_id}:{period}")  # string: the closed period's auto-reply was sent (event id)
    sweep_tick = Kind("automation:tick")                  # string: a worker enqueued the periodic sweep (lock, TTL = interval)
    sweep_lock = Kind("automation:sweep-lock")            # string: a sweep is running
    hours_state = Kind("automation:hours-state")          # hash: account -> "open"/"closed" seen by the last sweep
    hours_closed_shown = Kind("automation:hours-closed-shown")  # set of accounts with a parent rendered 🌙 営業時間外 since the last opening
    sla_breaches = Kind("sla-breaches:{account}")         # zset: "<conv_id>:<level>:<waiting_since>" -> when alerted (stats)
    reminder = Kind("reminder:{conv_id}")                 # hash: 返信待ち reminders: count, last period, off
    duty = Kind("duty")                                   # hash: Slack user id -> "off" when off duty (fair assignment)
    assign_turn = Kind("assign-turn:{account}")           # int: round-robin pointer of an account's on-duty list
    stats = Kind("stats:{account}:{what}")                # zset: JSON records (opened/response/resolved/follow) scored by time (/stats, App Home)
    episode = Kind("episode")                             # hash: conv_id -> when its current open episode began (/stats)
    follow = Kind("follow:{conv_id}")                     # hash: a LINE friend's last follow (at, unblocked) and unfollow (blocked, unfollowed_at)
    friend = Kind("friend:{conv_id}")                     # hash: 友だち情報 of a conversation (f.<field>, tags JSON, note)
    friend_tag = Kind("friend-tag:{account}:{tag}")       # set: conv_ids carrying a tag (normalized)
    friend_field = Kind("friend-field:{account}:{field}:{value}")  # set: conv_ids whose field has this (normalized) value
    friend_names = Kind("friend-names:{account}")         # zset (lex, score 0): "<normalized name>\0<conv_id>" for prefix search
    friend_tmp = Kind("friend-tmp:{token}")               # short-lived set/zset: intersections for /pending and /broadcast
    transcript = Kind("transcript:{conv_id}")             # zset: the archive of messages (JSON entries, bridge.archive.entry; score = time)
    archive_refs = Kind("archive-media-refs:{sha256}")    # set: conv_ids whose history refers to this archived media file
    archive_health = Kind("archive-health")               # hash: the media archive's state (failing_since, error, pending.<host>, last_ok)
    canned = Kind("canned:{account}")                     # hash: 定型文 key -> text managed from Slack (/canned)
    broadcast = Kind("broadcast:{bid}")                   # hash: one segment broadcast (status, counts, message)
    broadcast_recipients = Kind("broadcast:{bid}:to")     # list: the broadcast's LINE user ids, frozen when confirmed
    broadcast_chunk = Kind("broadcast:{bid}:chunk:{index}")  # hash: one chunk's result (status, sent, request id)
    # retention and forgetting a friend (bridge/privacy/)
    retention_tick = Kind("retention:tick")               # string: a worker enqueued the daily retention run (lock, TTL ≈ a day)
    retention_lock = Kind("retention:lock")               # string: a retention run is going on
    retention_stats = Kind("retention:{account}")         # hash: last run (at), deleted entries/media of that run and in total
    forgotten = Kind("forgotten")                         # list of JSON: friends forgotten (when, by whom, how) — no content


#: kind -> template of every key (read by the v1 dump fixture and the docs).
KINDS: dict[str, str] = {name: kind.template for name, kind in vars(Keys).items() if isinstance(kind, Kind)}
