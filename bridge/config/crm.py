"""The CRM sections of the configuration file: ``[admins]``, ``[[fields]]``, ``[[canned]]`` (see :mod:`bridge.friends.config`)."""
from __future__ import annotations

from bridge.config.source import ConfigSource
from bridge.friends.config import CANNED_KEY_RE, FIELD_TYPES, KEY_RE, RESERVED, USER_RE, CannedDef, CrmConfig, FieldDef


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value):
        return tuple(x.strip() for x in value)
    return None


def parse_crm(src: ConfigSource, accounts: list[str], errors: list[str]) -> CrmConfig:
    """友だち情報 fields, 定型文 and admins; problems are appended to ``errors`` as ``file:line: …``."""
    data, source = src.data, src.name
    before = len(errors)
    fields: list[FieldDef] = []
    canned: list[CannedDef] = []

    def where(array: str, i: int) -> str:
        return src.at(src.lines.entry(array, i))

    def check_accounts(entry: dict, at: str, what: str) -> tuple[str, ...]:
        raw = entry.get("accounts", [])
        got = _strings(raw) if raw != [] else ()
        if got is None:
            errors.append(f"{at}: {what}: `accounts` must be a list of account keys")
            return ()
        for a in got:
            if a not in accounts:
                errors.append(f"{at}: {what}: unknown account {a!r} (accounts: {', '.join(accounts)})")
        return got

    raw_fields = data.get("fields", [])
    if not isinstance(raw_fields, list):
        errors.append(f"{source}: `fields` must be written as [[fields]] sections")
        raw_fields = []
    seen: dict[tuple[str, str], str] = {}
    for i, entry in enumerate(raw_fields):
        at = where("fields", i)
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
    if not isinstance(raw_canned, list):
        errors.append(f"{source}: `canned` must be written as [[canned]] sections")
        raw_canned = []
    seen = {}
    for i, entry in enumerate(raw_canned):
        at = where("canned", i)
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
    if len(errors) > before:
        return CrmConfig()
    return CrmConfig(fields=tuple(fields), canned=tuple(canned), admins=frozenset(users))
