"""The ``[[accounts]]`` section: more LINE Official Accounts (see :mod:`bridge.accounts`).

Secrets never live in the file: an entry names the *environment variables* that hold them,
looked up in the environment the settings were read from.
"""
from __future__ import annotations

from typing import Mapping

from bridge.accounts import (BOT_USER_RE, CHANNEL_RE, FOLLOW_MODES, KEY_RE, REPLY_TOKEN_MODES, Account, check_url,
                             parse_retention_days)
from bridge.config.source import ConfigSource

FIELDS = {"key", "name", "channel", "secret_env", "token_env", "bot_user_id", "forward", "reply_token", "follow", "retention_days"}


def parse_accounts(src: ConfigSource, env: Mapping[str, str], problems: list[str]) -> list[Account]:
    """The valid ``[[accounts]]`` entries; each problem is appended as ``file:line: …``."""
    entries = src.data.get("accounts") or []
    if not isinstance(entries, list):
        problems.append(f"{src.name}: 'accounts' must be an array of tables ([[accounts]])")
        return []
    out: list[Account] = []
    for i, entry in enumerate(entries):
        where = src.at(src.lines.entry("accounts", i), unknown="?")
        before = len(problems)
        if not isinstance(entry, dict):
            problems.append(f"{where}: each [[accounts]] entry must be a table")
            continue
        for unknown in sorted(set(entry) - FIELDS):
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
            secrets[fld] = (env.get(var) or "").strip() if var else ""
        bot = str(entry.get("bot_user_id") or "")
        if bot and not BOT_USER_RE.fullmatch(bot):
            problems.append(f"{where}: bot_user_id must look like U followed by 32 hex digits (got {bot!r})")
        forward = entry.get("forward") or []
        if not isinstance(forward, list) or not all(isinstance(u, str) for u in forward):
            problems.append(f"{where}: forward must be a list of URLs")
            forward = []
        for url in forward:
            check_url(url, where, problems)
        mode = str(entry.get("reply_token") or "bridge")
        if mode not in REPLY_TOKEN_MODES:
            problems.append(f"{where}: reply_token must be \"bridge\" or \"other\" (got {mode!r})")
        follow = str(entry.get("follow") or "quiet")
        if follow not in FOLLOW_MODES:
            problems.append(f"{where}: follow must be \"quiet\" or \"thread\" (got {follow!r})")
        retention = parse_retention_days(entry.get("retention_days"), where, problems)
        if len(problems) == before:
            out.append(Account(key, str(entry.get("name") or key), channel, secrets["secret_env"], secrets["token_env"],
                               bot, tuple(forward), mode, follow, retention))
    return out


def check_unique(accounts: list[Account], problems: list[str]) -> None:
    """Duplicate keys, and two accounts that are the same LINE bot, are configuration errors."""
    seen: set[str] = set()
    for a in accounts:
        if a.key in seen:
            problems.append(f"account {a.key!r} is defined twice")
        seen.add(a.key)
    for attr, what in (("bot_user_id", "bot user id"), ("secret", "channel secret"), ("token", "access token")):
        owners: dict[str, str] = {}
        for a in accounts:
            value = getattr(a, attr)
            if value and value in owners and owners[value] != a.key:
                problems.append(f"accounts {owners[value]!r} and {a.key!r} have the same {what}: they are the same LINE bot")
            owners.setdefault(value, a.key)
