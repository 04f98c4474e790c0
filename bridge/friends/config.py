"""The CRM configuration: ``[admins]``, ``[[fields]]``, ``[[canned]]`` of ``BRIDGE_CONFIG`` (parsed by :mod:`bridge.config.crm`).

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

Every problem is reported at start-up as ``file:line: …``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

FIELD_TYPES = ("text", "number", "date", "choice")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CANNED_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]{2,30}$")
RESERVED = {"name", "staff", "number", "tags", "note", "tag", "account"}   # placeholders / filters the bridge defines itself


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
