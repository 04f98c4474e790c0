"""LINE Official Accounts served by one deployment.

Accounts come from two places:

* the single-account variables ``LINE_CHANNEL_SECRET``, ``LINE_CHANNEL_ACCESS_TOKEN`` and
  ``SLACK_TRIAGE_CHANNEL`` define the account ``default`` (today's deployments keep working);
* ``[[accounts]]`` entries of the config file (``BRIDGE_CONFIG``) add more. Secrets never
  live in the file: an entry names the *environment variables* that hold them.

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
```
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Iterable, Mapping
from urllib.parse import urlparse

DEFAULT_ACCOUNT = "default"
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]{2,}$")
BOT_USER_RE = re.compile(r"^U[0-9a-f]{32}$")
REPLY_TOKEN_MODES = ("bridge", "other")
FOLLOW_MODES = ("quiet", "thread")
_FIELDS = {"key", "name", "channel", "secret_env", "token_env", "bot_user_id", "forward", "reply_token", "follow"}


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
        _check_url(url, "LINE_FORWARD_URLS", problems)
    mode = (env.get("LINE_REPLY_TOKEN") or "bridge").strip()
    if mode not in REPLY_TOKEN_MODES:
        problems.append(f"LINE_REPLY_TOKEN must be 'bridge' or 'other' (got {mode!r})")
    follow = (env.get("LINE_FOLLOW") or "quiet").strip()
    if follow not in FOLLOW_MODES:
        problems.append(f"LINE_FOLLOW must be 'quiet' or 'thread' (got {follow!r})")
    return Account(DEFAULT_ACCOUNT, (env.get("LINE_ACCOUNT_NAME") or "LINE").strip(), channel,
                   values["LINE_CHANNEL_SECRET"], values["LINE_CHANNEL_ACCESS_TOKEN"], bot, forward, mode, follow)


def _check_url(url: str, where: str, problems: list[str]) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        from bridge.urls import shown_url  # the path or query of a target URL often is its secret

        problems.append(f"{where}: forward URL must start with https:// (got {shown_url(url)!r})")


def _line_of_entries(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"^\s*\[\[\s*accounts\s*\]\]", line)]


def accounts_from_config(text: str, source: str, env: Mapping[str, str], problems: list[str]) -> list[Account]:
    """The ``[[accounts]]`` entries of a TOML config; each problem is reported as ``file:line: …``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []  # the marks loader reports syntax errors with their position
    entries = data.get("accounts") or []
    if not isinstance(entries, list):
        problems.append(f"{source}: 'accounts' must be an array of tables ([[accounts]])")
        return []
    lines = _line_of_entries(text)
    out: list[Account] = []
    for i, entry in enumerate(entries):
        where = f"{source}:{lines[i] if i < len(lines) else '?'}"
        before = len(problems)
        if not isinstance(entry, dict):
            problems.append(f"{where}: each [[accounts]] entry must be a table")
            continue
        for unknown in sorted(set(entry) - _FIELDS):
            problems.append(f"{where}: unknown field {unknown!r} in [[accounts]]")
        key = str(entry.get("key") or "")
        if not KEY_RE.fullmatch(key):
            problems.append(f"{where}: key must be lower-case letters, digits and '_' starting with a letter (got {key!r})")
        channel = str(entry.get("channel") or "")
        if not CHANNEL_RE.fullmatch(channel):
            problems.append(f"{where}: channel must be a Slack channel ID like C0123ABCD (got {channel!r})")
        secrets = {}
        for fld in ("secret_env", "token_env"):
            var = str(entry.get(fld) or "")
            if not var:
                problems.append(f"{where}: {fld} must name the environment variable holding the account's "
                                f"{'channel secret' if fld == 'secret_env' else 'access token'}")
            elif not (env.get(var) or "").strip():
                problems.append(f"{where}: environment variable {var} (account {key!r}) is not set")
            secrets[fld] = (env.get(var) or "").strip()
        bot = str(entry.get("bot_user_id") or "")
        if bot and not BOT_USER_RE.fullmatch(bot):
            problems.append(f"{where}: bot_user_id must look like U followed by 32 hex digits (got {bot!r})")
        forward = entry.get("forward") or []
        if not isinstance(forward, list) or not all(isinstance(u, str) for u in forward):
            problems.append(f"{where}: forward must be a list of URLs")
            forward = []
        for url in forward:
            _check_url(url, where, problems)
        mode = str(entry.get("reply_token") or "bridge")
        if mode not in REPLY_TOKEN_MODES:
            problems.append(f"{where}: reply_token must be \"bridge\" or \"other\" (got {mode!r})")
        follow = str(entry.get("follow") or "quiet")
        if follow not in FOLLOW_MODES:
            problems.append(f"{where}: follow must be \"quiet\" or \"thread\" (got {follow!r})")
        if len(problems) == before:
            out.append(Account(key, str(entry.get("name") or key), channel, secrets["secret_env"], secrets["token_env"],
                               bot, tuple(forward), mode, follow))
    return out


def check_unique(accounts: list[Account], problems: list[str]) -> None:
    """Duplicate keys, and two accounts that are the same LINE bot, are configuration errors."""
    seen: dict[str, str] = {}
    for a in accounts:
        if a.key in seen:
            problems.append(f"account {a.key!r} is defined twice")
        seen[a.key] = a.key
    for attr, what in (("bot_user_id", "bot user id"), ("secret", "channel secret"), ("token", "access token")):
        owners: dict[str, str] = {}
        for a in accounts:
            value = getattr(a, attr)
            if value and value in owners and owners[value] != a.key:
                problems.append(f"accounts {owners[value]!r} and {a.key!r} have the same {what}: they are the same LINE bot")
            owners.setdefault(value, a.key)
