"""Parsing, normalizing and showing 友だち情報 values (no Redis)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from bridge.friends.config import FieldDef
from bridge.store.friends import FriendData, norm  # the stored form

MAX_TAGS = 30
MAX_TAG_LEN = 40
MAX_VALUE_LEN = 500
MAX_NOTE_LEN = 3000
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


class ValueError_(ValueError):
    """A value that does not fit its field; ``code`` is an i18n key suffix."""

    def __init__(self, code: str, **params: str):
        super().__init__(code)
        self.code = code
        self.params = params


def parse_value(fdef: FieldDef, raw: str) -> str:
    """The canonical stored form of ``raw`` for ``fdef`` ("" = empty). Raises :class:`ValueError_`."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return ""
    if len(text) > MAX_VALUE_LEN:
        raise ValueError_("too_long", max=str(MAX_VALUE_LEN))
    if fdef.type == "number":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise ValueError_("not_a_number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError_("not_a_number")
        return str(int(number)) if number.is_integer() else repr(number)
    if fdef.type == "date":
        m = _DATE_RE.match(text)
        try:
            if not m:
                raise ValueError
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            raise ValueError_("not_a_date") from None
    if fdef.type == "choice":
        for choice in fdef.choices:
            if norm(choice) == norm(text):
                return choice
        raise ValueError_("not_a_choice", choices=", ".join(fdef.choices))
    return raw.strip()


def parse_tags(raw: str | list[str]) -> list[str]:
    """Free tags from "VIP, 新規 ・ 紹介" (commas, 、, spaces or newlines); duplicates (normalized) dropped."""
    parts = raw if isinstance(raw, list) else re.split(r"[,、，\n]+|\s{2,}|\s", unicodedata.normalize("NFKC", raw or ""))
    out: list[str] = []
    seen: set[str] = set()
    for part in parts:
        tag = unicodedata.normalize("NFKC", part).strip().lstrip("#")
        if not tag or norm(tag) in seen:
            continue
        if len(tag) > MAX_TAG_LEN:
            raise ValueError_("tag_too_long", max=str(MAX_TAG_LEN))
        seen.add(norm(tag))
        out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValueError_("too_many_tags", max=str(MAX_TAGS))
    return out


def summary(data: FriendData, fdefs: list[FieldDef], lang: str, limit: int = 280) -> str:
    """One compact line for the thread parent: "🏷 VIP, 新規 · 会員番号: 123 · 来店日: 2026-01-05 · 📝"."""
    parts: list[str] = []
    if data.tags:
        parts.append("🏷 " + ", ".join(data.tags))
    for f in fdefs:
        value = data.fields.get(f.key)
        if value:
            parts.append(f"{f.label(lang)}: {value}")
    if data.note:
        parts.append("📝")
    text = " · ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
