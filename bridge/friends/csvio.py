"""友だち情報 as CSV: export, and an import that validates every row before changing anything.

Columns: ``account, line_id, number, name, tags, note`` then one column per field key
(``member_no, visit, …``). ``tags`` is comma separated. Rows are matched by account and
LINE user id; a friend without a conversation yet gets one (no Slack thread until they
write; marked resolved so it is not in /pending), so data moved from another tool is
searchable and broadcastable at once. ``number`` and ``name`` are informative on import
(``name`` is used for a new conversation). Both directions stream (SCAN / csv reader).
Cells that a spreadsheet would run as formulas are written with a leading ``'`` (:func:`safe_cell`),
which the import removes again, so an exported file imports unchanged.
"""
from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from bridge.friends.config import CrmConfig
from bridge.friends.values import FriendData, ValueError_, parse_tags, parse_value
from bridge.i18n import t
from bridge.model import Conversation, conv_key
from bridge.store.listing import conversation_ids
from bridge.store.stores import Stores

BASE = ["account", "line_id", "number", "name", "tags", "note"]
USER_ID = re.compile(r"^U[0-9a-f]{32}$")

# CSV (formula) injection: a spreadsheet opening the file runs a cell that starts with one of these
# (=HYPERLINK(...), =cmd|..., @SUM(...)); OWASP lists =, +, -, @, tab and carriage return, ASVS adds
# the NUL character; a line feed is included too (a cell may start on a new line). Friends choose their
# own LINE names and write the messages, so every cell the bridge writes goes through safe_cell().
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_QUOTED = re.compile("^'*[=+\\-@\t\r\n\0]")   # a trigger, possibly behind quotes (see safe_cell)


def safe_cell(value):
    """A CSV cell no spreadsheet runs as a formula: ``'`` before a value starting with a trigger character.

    Values already starting with quotes before a trigger get one more, so that :func:`unquote_cell`
    (the friend CSV import) gives back exactly the value exported. Non-strings are returned as they are."""
    if isinstance(value, str) and _QUOTED.match(value):
        return "'" + value
    return value


def unquote_cell(value):
    """The inverse of :func:`safe_cell` for an imported cell: the one ``'`` it added is removed (a value
    edited in a spreadsheet keeps its other quotes); anything else is returned as it is."""
    if isinstance(value, str) and value.startswith("'") and _QUOTED.match(value[1:]):
        return value[1:]
    return value


def safe_row(row: dict) -> dict:
    return {k: safe_cell(v) for k, v in row.items()}


def columns(crm: CrmConfig) -> list[str]:
    keys: list[str] = []
    for f in crm.fields:
        if f.key not in keys:
            keys.append(f.key)
    return BASE + keys


def export_csv(stores: Stores, crm: CrmConfig, out: IO[str], accounts: list[str]) -> int:
    """Every 1:1 conversation of ``accounts`` with its 友だち情報 (streamed)."""
    writer = csv.DictWriter(out, fieldnames=columns(crm))
    writer.writeheader()
    n = 0
    for account in accounts:
        for conv_id in conversation_ids(stores.conversations, account):
            conv = stores.conversations.get_conversation(conv_id)
            if conv is None or conv.source_type != "user":
                continue
            data = stores.friends.get(conv.conv_id)
            row = {"account": conv.account, "line_id": conv.line_id, "number": conv.number, "name": conv.name,
                   "tags": ", ".join(data.tags), "note": data.note}
            row.update({k: data.fields.get(k, "") for k in columns(crm)[len(BASE):]})
            writer.writerow(safe_row(row))
            n += 1
    return n


@dataclass
class ImportResult:
    errors: list[str]       # "line 3: 来店日: 日付で入力してください" — nothing was changed when not empty
    rows: int = 0
    changed: int = 0
    created: int = 0


def _parse_row(row: dict[str, str], crm: CrmConfig, accounts: list[str], lang: str) -> tuple[str, str, FriendData, list[str]]:
    problems: list[str] = []
    account = (row.get("account") or "").strip() or (accounts[0] if len(accounts) == 1 else "")
    if account not in accounts:
        problems.append(f"account: {account!r}?")
    line_id = (row.get("line_id") or "").strip()
    if not USER_ID.match(line_id):
        problems.append(f"line_id: {line_id!r}?")
    data = FriendData(note=(row.get("note") or "").strip())
    try:
        data.tags = parse_tags(row.get("tags") or "")
    except ValueError_ as exc:
        problems.append("tags: " + t("friend.error." + exc.code, lang, **exc.params))
    known = {f.key for f in crm.fields_of(account)}
    for key, raw in row.items():
        if key in BASE or key is None or not (raw or "").strip():
            continue
        fdef = next((f for f in crm.fields_of(account) if f.key == key), None)
        if fdef is None or key not in known:
            problems.append(t("friend.error.unknown_field", lang, field=key))
            continue
        try:
            value = parse_value(fdef, raw)
        except ValueError_ as exc:
            problems.append(f"{fdef.label(lang)}: " + t("friend.error." + exc.code, lang, **exc.params))
            continue
        if value:
            data.fields[key] = value
    return account, line_id, data, problems


def _rows(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            yield reader.line_num, {k: unquote_cell(v) for k, v in row.items()}   # as exported: see safe_cell


def import_csv(stores: Stores, crm: CrmConfig, path: str, accounts: list[str], default_channel, mark_closed: str,
               actor: str = "csv-import", lang: str = "ja") -> ImportResult:
    """Validate every row (pass 1); only when all are valid, apply them (pass 2)."""
    result = ImportResult(errors=[])
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    for col in header:
        if col not in BASE and col not in {f.key for f in crm.fields}:
            result.errors.append(f"line 1: " + t("friend.error.unknown_field", lang, field=col))
    if "line_id" not in header:
        result.errors.append("line 1: line_id?")
    seen: dict[tuple[str, str], int] = {}
    for line, row in _rows(path):
        account, line_id, _, problems = _parse_row(row, crm, accounts, lang)
        if (account, line_id) in seen:
            problems.append(f"duplicate of line {seen[(account, line_id)]}")
        seen[(account, line_id)] = line
        result.errors.extend(f"line {line}: {p}" for p in problems)
        result.rows += 1
    if result.errors:
        return result
    store, friends = stores.conversations, stores.friends
    for _, row in _rows(path):
        account, line_id, data, _ = _parse_row(row, crm, accounts, lang)
        conv_id = conv_key(account, line_id)
        if store.get_conversation(conv_id) is None:
            name = (row.get("name") or "").strip()
            conv, created = store.ensure_conversation(Conversation(
                conv_id=conv_id, source_type="user", number=0, account=account, line_id=line_id, name=name,
                channel=default_channel(account), created_at=time.time(), mark=mark_closed))
            result.created += int(created)
            if name:
                friends.index_name(account, conv_id, name)
        changes = friends.save(account, conv_id, data, actor)
        if changes:
            store.add_event(conv_id, {"at": time.time(), "actor": actor, "action": "friend", "source": "csv",
                                      "changes": changes})
            result.changed += 1
    return result
