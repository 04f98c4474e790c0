"""Parsers of the automation sections, each problem reported as ``file:line: …``."""
from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.config.automation_model import (
    DAYS, _GROUP_RE, _PLACEHOLDERS, _RANGE_RE, _TIME_RE, _USER_RE, AssignmentConfig, AutoReplyRule, HoursConfig,
    ReminderConfig, RULE_FIELDS, SlaConfig,
)
from bridge.config.source import ConfigSource


def _ranges(value: Any, err) -> tuple[tuple[int, int], ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        err('must be a list of "HH:MM-HH:MM" ranges')
        return ()
    out = []
    for item in value:
        m = _RANGE_RE.match(str(item).strip()) if isinstance(item, str) else None
        if not m:
            err(f'bad range {item!r}: write "10:00-18:00"')
            continue
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            err(f"bad range {item!r}: the end must be after the start, within the day (up to 24:00); "
                "split a range across midnight into two days")
            continue
        out.append((start, end))
    out.sort()
    for (s1, e1), (s2, e2) in zip(out, out[1:]):
        if s2 < e1:
            err(f"ranges overlap: {s1 // 60:02d}:{s1 % 60:02d}-{e1 // 60:02d}:{e1 % 60:02d} and "
                f"{s2 // 60:02d}:{s2 % 60:02d}-{e2 // 60:02d}:{e2 % 60:02d}")
    return tuple(out)


def _text(value: Any, err) -> str:
    if not isinstance(value, str) or not value.strip():
        err("must be a non-empty string")
        return ""
    for name in re.findall(r"\{([^{}]*)\}", value):
        if name not in _PLACEHOLDERS:
            err(f"unknown placeholder {{{name}}} (use {', '.join('{' + p + '}' for p in sorted(_PLACEHOLDERS))})")
    return value


def _number(value: Any, err, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        err(f"must be a number between {low:g} and {high:g}")
        return None
    return float(value)


def _split(table: dict, fields: set[str], accounts: list[str], section: str, where, errors: list[str]
           ) -> tuple[dict, dict[str, dict]]:
    """(base fields, {account: its override table}); unknown keys are reported."""
    base, per_account = {}, {}
    for k, v in table.items():
        if k in fields:
            base[k] = v
        elif isinstance(v, dict) and k in accounts:
            for unknown in sorted(set(v) - fields):
                errors.append(f"{where(f'{section}.{k}', unknown)}: unknown field `{unknown}` in [{section}.{k}] "
                              f"(allowed: {', '.join(sorted(fields))})")
            per_account[k] = {kk: vv for kk, vv in v.items() if kk in fields}
        elif isinstance(v, dict):
            errors.append(f"{where(f'{section}.{k}')}: [{section}.{k}]: no account has the key {k!r} "
                          f"(accounts: {', '.join(accounts)})")
        else:
            errors.append(f"{where(section, k)}: unknown field `{k}` in [{section}] (allowed: {', '.join(sorted(fields))})")
    return base, per_account


def _reporter(section: str, where, errors: list[str]):
    """``err_for(key)(message)``: a problem of ``[section] key``, with its file:line."""
    def err_for(key: str):
        return lambda msg: errors.append(f"{where(section, key)}: [{section}] {key}: {msg}")
    return err_for


def _flag(t: dict, key: str, err_for, on_error: bool) -> bool:
    """A true/false setting (default true); ``on_error`` when it is something else."""
    value = t.get(key, True)
    if not isinstance(value, bool):
        err_for(key)("must be true or false")
        return on_error
    return value


def _hours(t: dict, configured: bool, section: str, where, errors: list[str]) -> HoursConfig:
    err_for = _reporter(section, where, errors)
    tz = t.get("timezone", "Asia/Tokyo")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        err_for("timezone")(f"unknown time zone {tz!r} (use an IANA name such as \"Asia/Tokyo\")")
        tz = "Asia/Tokyo"
    country = t.get("holidays", "JP")
    if not isinstance(country, str):
        err_for("holidays")('must be a country code such as "JP", or "" for none')
        country = ""
    elif country:
        import holidays as holidays_lib

        if country.upper() not in holidays_lib.list_supported_countries():
            err_for("holidays")(f"no holiday calendar for {country!r} (use an ISO code such as \"JP\", or \"\")")
            country = ""
    weekly = tuple(_ranges(t[d], err_for(d)) if d in t else () for d in DAYS)
    closed = set()
    raw_closed = t.get("closed", [])
    if not isinstance(raw_closed, list):
        err_for("closed")('must be a list of dates ("2026-12-29")')
        raw_closed = []
    for d in raw_closed:
        parsed = _date(d)
        if parsed is None:
            err_for("closed")(f"bad date {d!r}: write \"2026-12-29\"")
        else:
            closed.add(parsed)
    special = []
    raw_special = t.get("special", {})
    if not isinstance(raw_special, dict):
        err_for("special")('must be a table of date = ["HH:MM-HH:MM"]')
        raw_special = {}
    for d, ranges in raw_special.items():
        parsed = _date(d)
        if parsed is None:
            err_for("special")(f"bad date {d!r}: write \"2026-12-27\"")
            continue
        special.append((parsed, _ranges(ranges, err_for("special"))))
    auto = t.get("auto_reply", True)
    if not isinstance(auto, bool):
        err_for("auto_reply")("must be true or false")
        auto = True
    text = _text(t["auto_reply_text"], err_for("auto_reply_text")) if "auto_reply_text" in t else ""
    if configured and not any(weekly) and not special:
        errors.append(f"{where(section)}: [{section}]: no opening hours at all: give ranges such as "
                      'mon = ["10:00-18:00"], or remove the section (always open)')
    return HoursConfig(configured, str(tz), country.upper(), weekly, frozenset(closed), tuple(sorted(special)), auto, text)


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _sla(t: dict, section: str, where, errors: list[str], marks) -> SlaConfig:
    err_for = _reporter(section, where, errors)
    enabled = _flag(t, "enabled", err_for, on_error=True)
    hours = _number(t.get("hours", 24), err_for("hours"), 0.01, 24 * 365) or 24.0
    factor = _number(t.get("escalate_factor", 2), err_for("escalate_factor"), 1.01, 100) or 2.0
    group = t.get("mention_group", "")
    if group and (not isinstance(group, str) or not _GROUP_RE.match(group)):
        err_for("mention_group")(f"must be a Slack user group ID such as S0123ABCD (got {group!r})")
        group = ""
    targets = dict(SlaConfig().targets) if marks is None or marks.get("complaint") else {}
    raw = t.get("targets", {})
    if not isinstance(raw, dict):
        err_for("targets")("must be a table of mark key = hours")
        raw = {}
    for key, value in raw.items():
        if marks is not None and marks.get(key) is None:
            err_for("targets")(f"no mark has the key {key!r}")
            continue
        n = _number(value, err_for("targets"), 0.01, 24 * 365)
        if n is not None:
            targets[key] = n
    return SlaConfig(enabled, hours, factor, group, tuple(sorted(targets.items())))


def _reminders(t: dict, section: str, where, errors: list[str]) -> ReminderConfig:
    err_for = _reporter(section, where, errors)
    enabled = _flag(t, "enabled", err_for, on_error=False)
    day = str(t.get("weekday", "mon")).lower()[:3]
    if day not in DAYS:
        err_for("weekday")(f"must be one of {', '.join(DAYS)}")
        day = "mon"
    m = _TIME_RE.match(str(t.get("time", "10:00")))
    minute = int(m.group(1)) * 60 + int(m.group(2)) if m else -1
    if not 0 <= minute < 24 * 60:
        err_for("time")('must be "HH:MM"')
        minute = 600
    count = t.get("max", 3)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 52:
        err_for("max")("must be an integer between 1 and 52")
        count = 3
    text = _text(t["text"], err_for("text")) if "text" in t else ""
    catch_up = _number(t.get("catch_up_minutes", 360), err_for("catch_up_minutes"), 0.1, 7 * 24 * 60) or 360.0
    return ReminderConfig(enabled, DAYS.index(day), minute, count, text, catch_up * 60)


def _assignment(t: dict, section: str, where, errors: list[str], marks) -> AssignmentConfig:
    err_for = _reporter(section, where, errors)
    enabled = _flag(t, "enabled", err_for, on_error=False)
    on = t.get("on", ["new"])
    if not isinstance(on, list) or not all(isinstance(x, str) for x in on):
        err_for("on")('must be a list such as ["new", "complaint"]')
        on = ["new"]
    for key in on:
        if key != "new" and marks is not None and marks.get(key) is None:
            err_for("on")(f'{key!r} is neither "new" nor a mark key')
    members = t.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) and _USER_RE.match(m) for m in members):
        err_for("members")("must be a list of Slack user IDs such as \"U0123ABCD\"")
        members = []
    group = t.get("duty_group", "")
    if group and (not isinstance(group, str) or not _GROUP_RE.match(group)):
        err_for("duty_group")(f"must be a Slack user group ID such as S0123ABCD (got {group!r})")
        group = ""
    if enabled and not members and not group:
        err_for("members")("give the on-duty list (Slack user IDs) or a duty_group (a Slack user group ID)")
    limit = t.get("max_open", 0)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        err_for("max_open")("must be a whole number (0 = no limit)")
        limit = 0
    away = t.get("skip_away", True)
    if not isinstance(away, bool):
        err_for("skip_away")("must be true or false")
        away = True
    return AssignmentConfig(enabled, "new" in on, tuple(k for k in on if k != "new"), tuple(dict.fromkeys(members)),
                            group, limit, away)


def _rules(entries: Any, src: ConfigSource, accounts: list[str], errors: list[str]) -> list[AutoReplyRule]:
    if not isinstance(entries, list):
        errors.append(f"{src.name}: `auto_replies` must be an array of tables ([[auto_replies]])")
        return []
    out = []
    for i, e in enumerate(entries):
        section = f"auto_replies#{i}"

        def err(key: str, msg: str) -> None:
            errors.append(f"{src.at(src.lines.line(section, key), unknown='?')}: [[auto_replies]] #{i + 1} {key}: {msg}")

        for unknown in sorted(set(e) - RULE_FIELDS):
            err(unknown, f"unknown field (allowed: {', '.join(sorted(RULE_FIELDS))})")
        account = e.get("account", "")
        if account and account not in accounts:
            err("account", f"no account has the key {account!r}")
        match = e.get("match", "exact")
        if match not in ("exact", "contains"):
            err("match", 'must be "exact" or "contains"')
        keywords = e.get("keywords", [e["keyword"]] if "keyword" in e else [])
        if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k.strip() for k in keywords):
            err("keywords", "give one or more non-empty keywords")
            keywords = []
        text = _text(e.get("text"), lambda msg: err("text", msg))
        if keywords and text and match in ("exact", "contains"):
            out.append(AutoReplyRule(str(account), match, tuple(k.strip() for k in keywords), text))
    return out
