"""The CRM sections of the configuration file (``BRIDGE_CONFIG``): ``[admins]``, ``[[fields]]``, ``[[canned]]``.

::

    [admins]
    users = ["U0123ABCD"]        # Slack user ids: /canned add|remove, /broadcast, /export of a date range

    [[fields]]                   # 友だち情報: custom fields, per account
    key = "member_no"            # stored id: 1-40 lower-case letters, digits, '_'
    ja = "会員番号"
    en = "Member no."
    type = "text"                # text | number | date | choice
    choices = ["賃貸", "売買"]    # type = "choice" only
    accounts = ["default"]       # optional: the LINE accounts that have this field (default: every account)

    [[canned]]                   # 定型文: used as !key in a thread reply
    key = "hours"
    text = "{name}様、営業時間は10時〜19時です。担当: {staff}"
    accounts = ["default"]       # optional

Every problem is reported at start-up as ``file:line: …`` (:class:`CrmConfigError`).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

FIELD_TYPES = ("text", "number", "date", "choice")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CANNED_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]{2,30}$")
RESERVED = {"name", "staff", "number", "tags", "note", "tag", "account"}   # placeholders / filters the bridge defines itself


class CrmConfigError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("invalid CRM configuration:\n  " + "\n  ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class FieldDef:
    key: str
    ja: str
    en: str
    type: str = "text"
    choices: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()      # () = every account

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.ja

    def applies_to(self, account: str) -> bool:
        return not self.accounts or account in self.accounts


@dataclass(frozen=True)
class CannedDef:
    key: str
    text: str
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrmConfig:
    fields: tuple[FieldDef, ...] = ()
    canned: tuple[CannedDef, ...] = ()
    admins: frozenset[str] = field(default_factory=frozenset)

    def fields_of(self, account: str) -> list[FieldDef]:
        return [f for f in self.fields if f.applies_to(account)]

    def find_field(self, account: str, name: str) -> FieldDef | None:
        """A field by key or by its Japanese/English label (case-insensitive)."""
        want = name.strip().casefold()
        for f in self.fields_of(account):
            if want in (f.key, f.ja.casefold(), f.en.casefold()):
                return f
        return None

    def canned_of(self, account: str) -> dict[str, str]:
        return {c.key: c.text for c in self.canned if not c.accounts or account in c.accounts}

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins


def _entry_lines(text: str, section: str) -> list[int]:
    """Line numbers of each ``[[section]]`` header (tomllib does not report positions)."""
    header = re.compile(r"^\s*\[\[\s*" + re.escape(section) + r"\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), start=1) if header.match(line)]


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value):
        return tuple(x.strip() for x in value)
    return None


def parse_crm(text: str, source: str = "<config>", accounts: tuple[str, ...] | None = None) -> CrmConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CrmConfigError([f"{source}: not valid TOML: {exc}"]) from None
    errors: list[str] = []
    fields: list[FieldDef] = []
    canned: list[CannedDef] = []

    def where(lines: list[int], i: int) -> str:
        return f"{source}:{lines[i]}" if i < len(lines) else source

    def check_accounts(entry: dict, at: str, what: str) -> tuple[str, ...]:
        raw = entry.get("accounts", [])
        got = _strings(raw) if raw != [] else ()
        if got is None:
            errors.append(f"{at}: {what}: `accounts` must be a list of account keys")
            return ()
        for a in got:
            if accounts is not None and a not in accounts:
                errors.append(f"{at}: {what}: unknown account {a!r} (accounts: {', '.join(accounts)})")
        return got

    raw_fields = data.get("fields", [])
    lines = _entry_lines(text, "fields")
    if not isinstance(raw_fields, list):
        errors.append(f"{source}: `fields` must be written as [[fields]] sections")
        raw_fields = []
    seen: dict[tuple[str, str], str] = {}
    for i, entry in enumerate(raw_fields):
        at = where(lines, i)
        key = str(entry.get("key") or "")
        what = f"field {key or i + 1}"
        for unknown in sorted(set(entry) - {"key", "ja", "en", "type", "choices", "accounts"}):
            errors.append(f"{at}: {what}: unknown setting `{unknown}`")
        if not KEY_RE.match(key) or key in RESERVED:
            errors.append(f"{at}: {what}: `key` must be 1-40 lower-case letters, digits or '_', starting with a letter,"
                          f" and not one of {', '.join(sorted(RESERVED))}")
        ja, en = str(entry.get("ja") or "").strip(), str(entry.get("en") or "").strip()
        if not ja and not en:
            errors.append(f"{at}: {what}: give its name as `ja` and/or `en`")
        ftype = str(entry.get("type") or "text")
        if ftype not in FIELD_TYPES:
            errors.append(f"{at}: {what}: `type` must be one of {', '.join(FIELD_TYPES)} (got {ftype!r})")
        choices = _strings(entry.get("choices", [])) if "choices" in entry else ()
        if choices is None or (ftype == "choice" and not choices):
            errors.append(f"{at}: {what}: a choice field needs `choices`, a list of non-empty strings")
            choices = ()
        elif choices and ftype != "choice":
            errors.append(f"{at}: {what}: `choices` only applies to type = \"choice\"")
        accts = check_accounts(entry, at, what)
        for acct in accts or ("*",):
            if (acct, key) in seen:
                errors.append(f"{at}: {what}: duplicate key {key!r} (also at {seen[(acct, key)]})")
            seen[(acct, key)] = at
        fields.append(FieldDef(key=key, ja=ja or en, en=en or ja, type=ftype, choices=choices or (), accounts=accts))

    raw_canned = data.get("canned", [])
    lines = _entry_lines(text, "canned")
    if not isinstance(raw_canned, list):
        errors.append(f"{source}: `canned` must be written as [[canned]] sections")
        raw_canned = []
    seen = {}
    for i, entry in enumerate(raw_canned):
        at = where(lines, i)
        key = str(entry.get("key") or "")
        what = f"canned reply {key or i + 1}"
        for unknown in sorted(set(entry) - {"key", "text", "accounts"}):
            errors.append(f"{at}: {what}: unknown setting `{unknown}`")
        if not CANNED_KEY_RE.match(key):
            errors.append(f"{at}: {what}: `key` must be 1-40 letters, digits, '_' or '-' (used as !key)")
        body = entry.get("text")
        if not isinstance(body, str) or not body.strip():
            errors.append(f"{at}: {what}: `text` must be a non-empty string")
            body = ""
        accts = check_accounts(entry, at, what)
        for acct in accts or ("*",):
            if (acct, key) in seen:
                errors.append(f"{at}: {what}: duplicate key {key!r} (also at {seen[(acct, key)]})")
            seen[(acct, key)] = at
        canned.append(CannedDef(key=key, text=body, accounts=accts))

    admins_raw = data.get("admins", {})
    users: tuple[str, ...] = ()
    if not isinstance(admins_raw, dict):
        errors.append(f"{source}: `admins` must be a table: [admins] users = [\"U…\"]")
    else:
        for unknown in sorted(set(admins_raw) - {"users"}):
            errors.append(f"{source}: [admins]: unknown setting `{unknown}`")
        got = _strings(admins_raw.get("users", [])) if admins_raw.get("users", []) != [] else ()
        if got is None or not all(USER_RE.match(u) for u in got):
            errors.append(f"{source}: [admins]: `users` must be a list of Slack user ids such as \"U0123ABCD\"")
        else:
            users = got
    if errors:
        raise CrmConfigError(errors)
    return CrmConfig(fields=tuple(fields), canned=tuple(canned), admins=frozenset(users))


@lru_cache(maxsize=8)
def load_crm(path: str | None, accounts: tuple[str, ...] | None = None) -> CrmConfig:
    """The CRM configuration of ``path`` (empty without a config file); cached per process."""
    if not path:
        return CrmConfig()
    with open(path, "rb") as fh:
        text = fh.read().decode("utf-8-sig", errors="replace")
    return parse_crm(text, path, accounts)
