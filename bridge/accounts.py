"""LINE Official Accounts served by one deployment.

Accounts come from two places:

* the single-account variables ``LINE_CHANNEL_SECRET``, ``LINE_CHANNEL_ACCESS_TOKEN`` and
  ``SLACK_TRIAGE_CHANNEL`` define the account ``default`` (today's deployments keep working);
* ``[[accounts]]`` entries of the config file (``BRIDGE_CONFIG``, parsed by :mod:`bridge.config.accounts`)
  add more. Secrets never live in the file: an entry names the *environment variables* that hold them.

```toml
[[accounts]]
key = "shibuya"                       # a-z, 0-9, _ ; stored on conversations: never rename one in use
name = "渋谷店"                        # shown on parent messages when accounts share a channel
channel = "C0123ABCD"                 # the Slack triage channel ID
secret_env = "SHIBUYA_LINE_SECRET"    # env var holding the channel secret
token_env = "SHIBUYA_LINE_TOKEN"      # env var holding the channel access token
bot_user_id = "U0123…"                # optional: the webhook `destination` (else learned via GET /v2/bot/info)
forward = ["https://lstep.example/webhook"]  # optional: other tools that get every verified webhook
reply_token = "bridge"                # "bridge" (default) or "other": another tool answers with reply tokens
follow = "quiet"                      # "quiet" (default): a follow opens no thread; "thread": it opens one
retention_days = 365                  # optional: delete archived messages and media older than this (default: keep)
```
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping
from urllib.parse import urlparse

DEFAULT_ACCOUNT = "default"
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]{2,}$")
BOT_USER_RE = re.compile(r"^U[0-9a-f]{32}$")
REPLY_TOKEN_MODES = ("bridge", "other")
FOLLOW_MODES = ("quiet", "thread")


@dataclass(frozen=True)
class Account:
    key: str
    name: str
    channel: str                       # Slack triage channel ID
    secret: str = field(repr=False)    # LINE channel secret (from the environment)
    token: str = field(repr=False)     # LINE channel access token (from the environment)
    bot_user_id: str = ""              # webhook `destination`; "" = learn it from GET /v2/bot/info
    forward: tuple[str, ...] = ()
    reply_token: str = "bridge"
    follow: str = "quiet"              # "thread": every follow opens a thread and a 要対応 entry
    retention_days: int = 0            # archived messages/media older than this are deleted daily; 0 = keep

    @property
    def quiet_follows(self) -> bool:
        """A new friend is not a chat to answer (LINE's greeting message answers them): their
        follow is only recorded, and shown on the parent once they write."""
        return self.follow != "thread"

    @property
    def uses_reply_tokens(self) -> bool:
        """False when another tool answers friends with reply tokens: the bridge then always pushes."""
        return self.reply_token == "bridge"


class AccountSet:
    """Every account of the deployment, found by key, Slack channel or bot user id."""

    def __init__(self, accounts: Iterable[Account]):
        self._by_key = {a.key: a for a in accounts}

    def __iter__(self):
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str) -> Account | None:
        return self._by_key.get(key)

    def require(self, key: str) -> Account:
        account = self._by_key.get(key)
        if account is None:
            raise KeyError(f"unknown LINE account {key!r}")
        return account

    def keys(self) -> list[str]:
        return list(self._by_key)

    def channels(self) -> set[str]:
        return {a.channel for a in self}

    def in_channel(self, channel: str) -> list[Account]:
        return [a for a in self if a.channel == channel]

    def shares_channel(self, key: str) -> bool:
        """True when the account's triage channel also serves another account (parents then name it)."""
        account = self._by_key.get(key)
        return bool(account) and len(self.in_channel(account.channel)) > 1


def default_account_from_env(env: Mapping[str, str], problems: list[str]) -> Account | None:
    """Today's single-account variables, if any is set; every missing one is reported."""
    names = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_TRIAGE_CHANNEL")
    values = {n: (env.get(n) or "").strip() for n in names}
    for n in names:
        if not values[n]:
            problems.append(f"{n} is not set")
    channel = values["SLACK_TRIAGE_CHANNEL"]
    if channel and not CHANNEL_RE.fullmatch(channel):
        problems.append(f"SLACK_TRIAGE_CHANNEL must be a channel ID like C0123ABCD, not a name (got {channel!r})")
    if not all(values.values()):
        return None
    bot = (env.get("LINE_BOT_USER_ID") or "").strip()
    if bot and not BOT_USER_RE.fullmatch(bot):
        problems.append(f"LINE_BOT_USER_ID must look like U followed by 32 hex digits (got {bot!r})")
    forward = tuple(u.strip() for u in (env.get("LINE_FORWARD_URLS") or "").split(",") if u.strip())
    for url in forward:
        check_url(url, "LINE_FORWARD_URLS", problems)
    mode = (env.get("LINE_REPLY_TOKEN") or "bridge").strip()
    if mode not in REPLY_TOKEN_MODES:
        problems.append(f"LINE_REPLY_TOKEN must be 'bridge' or 'other' (got {mode!r})")
    follow = (env.get("LINE_FOLLOW") or "quiet").strip()
    if follow not in FOLLOW_MODES:
        problems.append(f"LINE_FOLLOW must be 'quiet' or 'thread' (got {follow!r})")
    retention = parse_retention_days(env.get("BRIDGE_RETENTION_DAYS"), "BRIDGE_RETENTION_DAYS", problems)
    return Account(DEFAULT_ACCOUNT, (env.get("LINE_ACCOUNT_NAME") or "LINE").strip(), channel,
                   values["LINE_CHANNEL_SECRET"], values["LINE_CHANNEL_ACCESS_TOKEN"], bot, forward, mode, follow,
                   retention)


RETENTION_MAX_DAYS = 100 * 366


def parse_retention_days(raw: object, where: str, problems: list[str]) -> int:
    """``retention_days``: a whole number of days from 1 up; unset or empty = keep everything (0)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        days = int(str(raw).strip()) if isinstance(raw, str) else int(raw)
        if not 1 <= days <= RETENTION_MAX_DAYS:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"{where}: retention_days must be a whole number of days between 1 and {RETENTION_MAX_DAYS} "
                        f"(leave it out to keep the history; got {raw!r})")
        return 0
    return days


def check_url(url: str, where: str, problems: list[str]) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        from bridge.urls import shown_url  # the path or query of a target URL often is its secret

        problems.append(f"{where}: forward URL must start with https:// (got {shown_url(url)!r})")
