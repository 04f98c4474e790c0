"""``/pending``: parse its arguments and render a backlog page as Slack Block Kit (plain dicts).

* :func:`parse_pending_args` turns the command text (``mine``, ``unassigned``,
  ``<@U123|name>``, mark names...) into a :class:`PendingFilter`.
* :class:`PendingFilter` round-trips through a short string (:meth:`PendingFilter.encode`)
  that fits the value of the "more" button (Slack: ≤ 2000 characters).
* :func:`render_pending` renders a :class:`bridge.backlog.BacklogPage`.

Slack limits respected: at most 50 blocks per message (a page of ``DEFAULT_LIMIT`` = 20
rows uses 25) and at most 3000 characters of section text.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

from bridge import i18n
from bridge.store.backlog import BacklogPage, BacklogRow
from bridge.humanize import ago, waited
from bridge.triage.marks import MarkSet, normalize_name
from bridge.text import mrkdwn, preview

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_ROWS",
    "MORE_ACTION_ID",
    "PendingFilter",
    "parse_pending_args",
    "render_pending",
]

#: Rows per page: 20 rows + 5 fixed blocks = 25 blocks, half of Slack's 50.
DEFAULT_LIMIT = 20
#: Slack accepts at most 50 blocks per message.
MAX_BLOCKS = 50
#: Blocks besides the rows: title, counts, divider, footer, actions.
_FIXED_BLOCKS = 5
#: The most rows one message can show.
MAX_ROWS = MAX_BLOCKS - _FIXED_BLOCKS
#: Slack: a section's text is at most 3000 characters.
MAX_SECTION_TEXT = 3000
#: Slack: a button's value is at most 2000 characters.
MAX_BUTTON_VALUE = 2000
#: action_id of the "more" button.
MORE_ACTION_ID = "pending_more"



def _t(key: str, lang: str, **params: Any) -> str:
    return i18n.t(key, "en" if (lang or "").lower().startswith("en") else "ja", **params)


def _clip(text: str, limit: int) -> str:
    return mrkdwn.clip(text, limit)  # never inside an entity of an escaped name or preview


# ---------------------------------------------------------------------------
# the filter
# ---------------------------------------------------------------------------

_USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{1,30}$")
_MARK_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ACCOUNT_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ACCOUNT_WORD_RE = re.compile(r"^(?:account|acct|アカウント)[:=](.+)$")


@dataclass(frozen=True)
class PendingFilter:
    """What ``/pending`` lists: an assignee (Slack user id) or nobody, AND any of ``marks``, one page.

    ``error`` is set (and everything else is default) when the command text could
    not be understood; show it to the user instead of querying.
    """

    assignee: str | None = None
    unassigned: bool = False
    marks: tuple[str, ...] = ()
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    error: str | None = None
    accounts: tuple[str, ...] = ()   # LINE accounts to list ("account:<key>"); () = every account in scope
    overdue: bool = False            # only conversations past their first-response target (bridge.automation)
    friend: tuple[str, ...] = ()     # 友だち情報 terms ("tag:VIP", "<field>:<value>"; bridge.friends.search)

    def query_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`bridge.store.backlog.Backlog.query` (accounts are scoped by the caller)."""
        return {"assignee": self.assignee, "unassigned": self.unassigned, "marks": list(self.marks) or None,
                "offset": self.offset, "limit": self.limit}

    def scoped(self, visible: list[str]) -> list[str]:
        """The accounts to list: the ones asked for, within those the person may see."""
        return [a for a in visible if not self.accounts or a in self.accounts]

    def next_page(self) -> PendingFilter:
        return replace(self, offset=self.offset + self.limit)

    def describe(self, marks: MarkSet, lang: str = "ja") -> str:
        """Human summary for the message header, e.g. "担当: <@U1> · マーク: :rage: クレーム"."""
        parts: list[str] = []
        if self.unassigned:
            parts.append(_t("pending.filter.assignee", lang, who=_t("pending.unassigned", lang)))
        elif self.assignee:
            parts.append(_t("pending.filter.assignee", lang, who=f"<@{self.assignee}>"))
        if self.marks:
            names = [(m.display(lang) if (m := marks.get(k)) else k) for k in self.marks]
            parts.append(_t("pending.filter.marks", lang, marks=", ".join(names)))
        if self.accounts:
            parts.append(_t("pending.filter.account", lang, accounts=", ".join(self.accounts)))
        if self.overdue:
            parts.append(_t("pending.filter.overdue", lang))
        parts.extend(f"`{term}`" for term in self.friend)
        return " · ".join(parts) if parts else _t("pending.filter.all", lang)

    def encode(self) -> str:
        """Short form for a button value: ``p1;a=U1;m=complaint,question_mid;o=20;l=20`` (≤ 2000 chars)."""
        if self.error:
            raise ValueError("a PendingFilter with an error cannot be encoded")
        parts = ["p1"]
        if self.assignee:
            parts.append(f"a={self.assignee}")
        if self.unassigned:
            parts.append("u=1")
        if self.marks:
            parts.append("m=" + ",".join(self.marks))
        if self.accounts:
            parts.append("c=" + ",".join(self.accounts))
        if self.overdue:
            parts.append("v=1")
        if self.friend:
            parts.append("x=" + ",".join(quote(term, safe=":") for term in self.friend))
        if self.offset:
            parts.append(f"o={self.offset}")
        if self.limit != DEFAULT_LIMIT:
            parts.append(f"l={self.limit}")
        value = ";".join(parts)
        if len(value) > MAX_BUTTON_VALUE:
            raise ValueError(f"encoded filter is {len(value)} characters, more than Slack's {MAX_BUTTON_VALUE}")
        return value

    @classmethod
    def decode(cls, value: str) -> PendingFilter:
        """Inverse of :meth:`encode`. Raises ValueError on anything it did not produce."""
        parts = (value or "").split(";")
        if parts[0] != "p1":
            raise ValueError(f"not a pending filter: {value[:40]!r}")
        kwargs: dict[str, Any] = {}
        seen: set[str] = set()
        for part in parts[1:]:
            name, sep, raw = part.partition("=")
            if not sep or name in seen:
                raise ValueError(f"bad pending filter part {part[:40]!r}")
            seen.add(name)
            if name == "a" and _USER_ID_RE.match(raw):
                kwargs["assignee"] = raw
            elif name == "u" and raw == "1":
                kwargs["unassigned"] = True
            elif name == "m" and raw and all(_MARK_KEY_RE.match(k) for k in raw.split(",")):
                kwargs["marks"] = tuple(raw.split(","))
            elif name == "c" and raw and all(_ACCOUNT_KEY_RE.match(k) for k in raw.split(",")):
                kwargs["accounts"] = tuple(raw.split(","))
            elif name == "v" and raw == "1":
                kwargs["overdue"] = True
            elif name == "x" and raw:
                kwargs["friend"] = tuple(unquote(term) for term in raw.split(","))
            elif name == "o" and raw.isdigit() and raw.isascii():
                kwargs["offset"] = int(raw)
            elif name == "l" and raw.isdigit() and raw.isascii() and 1 <= int(raw) <= MAX_ROWS:
                kwargs["limit"] = int(raw)
            else:
                raise ValueError(f"bad pending filter part {part[:40]!r}")
        if kwargs.get("assignee") and kwargs.get("unassigned"):
            raise ValueError("pending filter has both an assignee and unassigned")
        return cls(**kwargs)


_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MINE = {"mine", "me", "my", "自分", "私", "わたし", "自分の", "じぶん"}
_UNASSIGNED = {"unassigned", "none", "nobody", "未割り当て", "未割当", "未割当て", "未割り当", "担当なし", "なし"}
_ALL = {"all", "すべて", "全て", "全部", "ぜんぶ"}
_HELP = {"help", "?", "ヘルプ", "使い方"}
_OVERDUE = {"overdue", "late", "期限超過", "超過", "期限切れ", "sla"}
_MAX_WORDS_PER_NAME = 6


def _usage(marks: MarkSet, lang: str) -> str:
    names = ", ".join(f"`{m.label(lang)}`" for m in marks.backlog_marks())
    return _t("pending.usage", lang, marks=names)


def parse_pending_args(text: str, marks: MarkSet, requester: str, lang: str = "ja",
                       account_keys: tuple[str, ...] | list[str] = ()) -> PendingFilter:
    """Parse the text after ``/pending``.

    Words (any order, combinable): ``mine``/``me``/``自分`` (the requester),
    ``unassigned``/``none``/``未割り当て``, a user mention (``<@U123|name>`` or ``<@U123>``,
    as Slack sends them with "Escape channels, users, and links" on), ``all``/``すべて``
    (every open and 返信待ち mark), and mark names — key, Japanese or English name, or
    ``:emoji:``, NFKC/case-insensitive; multi-word names such as ``Needs reply`` work.
    Anything else yields a filter whose ``error`` explains what is accepted.
    """
    text = unicodedata.normalize("NFKC", text or "")
    users: list[str] = []

    def take_mention(m: re.Match[str]) -> str:
        users.append(m.group(1))
        return " "

    words = _MENTION_RE.sub(take_mention, text).split()
    assignee: str | None = None
    unassigned = False
    chosen: list[str] = []
    accounts: list[str] = []
    overdue = False

    def fail(message: str) -> PendingFilter:
        return PendingFilter(error=f"{message}\n{_usage(marks, lang)}")

    def set_assignee(who: str | None) -> str | None:
        """Returns an error message, or None."""
        nonlocal assignee, unassigned
        current = "unassigned" if unassigned else assignee
        wanted = "unassigned" if who is None else who
        if current is not None and current != wanted:
            show = lambda v: _t("pending.unassigned", lang) if v == "unassigned" else f"<@{v}>"  # noqa: E731
            return _t("pending.error.two_assignees", lang, a=show(current), b=show(wanted))
        if who is None:
            unassigned = True
        else:
            assignee = who
        return None

    for user in users:
        if (err := set_assignee(user)) is not None:
            return fail(err)

    i = 0
    while i < len(words):
        word = normalize_name(words[i])
        if word in _HELP:
            return PendingFilter(error=_usage(marks, lang))
        if word in _MINE or word in _UNASSIGNED:
            if (err := set_assignee(requester if word in _MINE else None)) is not None:
                return fail(err)
            i += 1
            continue
        if word in _OVERDUE:
            overdue = True
            i += 1
            continue
        if word in _ALL:
            chosen.extend(m.key for m in marks.backlog_marks())
            i += 1
            continue
        if (acct := _ACCOUNT_WORD_RE.match(word)) is not None:
            key = acct.group(1)
            if key not in account_keys:
                return fail(_t("pending.error.unknown_account", lang, key=mrkdwn.escape(_clip(key, 40)),
                               keys=", ".join(account_keys)))
            accounts.append(key)
            i += 1
            continue
        for j in range(min(len(words), i + _MAX_WORDS_PER_NAME), i, -1):  # longest name first
            mark = marks.find("".join(words[i:j]), lang)
            if mark is not None:
                if mark.state == "closed":
                    return fail(_t("pending.error.closed_mark", lang, mark=mark.label(lang)))
                chosen.append(mark.key)
                i = j
                break
        else:
            return fail(_t("pending.error.unknown", lang, word=mrkdwn.escape(_clip(words[i], 50))))

    return PendingFilter(assignee=assignee, unassigned=unassigned, marks=tuple(dict.fromkeys(chosen)),
                         accounts=tuple(dict.fromkeys(accounts)), overdue=overdue)


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

def _counts_line(page: BacklogPage, marks: MarkSet, lang: str) -> str:
    parts = []
    for key, n in page.counts.items():
        if n <= 0:
            continue
        mark = marks.get(key)
        parts.append(f"{mark.display(lang) if mark else key} {n}")
    return " · ".join(parts)


def _row_text(row: BacklogRow, marks: MarkSet, lang: str, now: float, permalink: str, note: str = "") -> str:
    name = mrkdwn.escape(preview(row.name, 40)) if row.name.strip() else i18n.t("unknown_name", lang)
    who = f"<@{row.assignee}>" if row.assignee else _t("pending.unassigned", lang)
    head = [f"*#{row.number} {name}*", marks.effective(row.mark).display(lang), _t("pending.assignee", lang, who=who)]
    if row.waiting_since > 0:
        head.append(_t("pending.waiting", lang, duration=waited(now - row.waiting_since, lang)))
    elif row.last_message_at > 0:
        head.append(_t("pending.last", lang, when=ago(row.last_message_at, now, lang)))
    if note:
        head.append(note)  # SLA: time left / exceeded (bridge.automation)
    body = mrkdwn.escape(preview(row.last_message_preview, 80)) if row.last_message_preview.strip() \
        else _t("pending.no_preview", lang)
    second = f"> {body}"
    if permalink:
        second += f"  <{permalink}|{_t('pending.open_thread', lang)}>"
    elif not row.thread_ts:  # listed the moment LINE's webhook was accepted; Slack follows at its pace
        second += f"  _{_t('pending.not_shown', lang)}_"
    return _clip(" · ".join(head) + "\n" + second, MAX_SECTION_TEXT)


def render_pending(page: BacklogPage, marks: MarkSet, lang: str = "ja", *,
                   permalink_for: Callable[[BacklogRow], str], filters_text: str = "",
                   more_value: str | None = None, row_note: Callable[[BacklogRow], str] | None = None,
                   notice: str = "") -> tuple[str, list[dict]]:
    """Render one backlog page. Returns (fallback text, blocks).

    Layout: title (+ ``filters_text``), counts per mark, divider, one section per row
    (number, name, mark, assignee, waiting time, last message preview and a link to
    the thread from ``permalink_for``), a range footer, and a "more" button
    (``action_id`` :data:`MORE_ACTION_ID`, value ``more_value``) when ``page.has_more``.
    ``filters_text`` is mrkdwn the caller trusts (e.g. :meth:`PendingFilter.describe`).
    Raises ValueError for a page of more than :data:`MAX_ROWS` rows (Slack's block limit).
    """
    if len(page.rows) > MAX_ROWS:
        raise ValueError(f"{len(page.rows)} rows do not fit one Slack message (max {MAX_ROWS})")
    now = page.now
    blocks: list[dict] = []
    filters = f"  ·  {filters_text}" if filters_text else ""
    if notice:  # e.g. 🌙 outside business hours
        filters += f"\n{notice}"

    if page.total == 0:
        empty = _t("pending.empty", lang)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*{empty}*{filters}", MAX_SECTION_TEXT)}})
        counts = _counts_line(page, marks, lang)
        if counts:  # nothing matches the filter, but other conversations are pending
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(counts, MAX_SECTION_TEXT)}]})
        return empty, blocks

    title = _t("pending.title", lang, total=page.total)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*{title}*{filters}", MAX_SECTION_TEXT)}})
    counts = _counts_line(page, marks, lang)
    if counts:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(counts, MAX_SECTION_TEXT)}]})
    blocks.append({"type": "divider"})
    for row in page.rows:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _row_text(row, marks, lang, now, permalink_for(row) or "",
                                                                     row_note(row) if row_note else "")}})
    if page.rows:
        footer = _t("pending.range", lang, first=page.offset + 1, last=page.offset + len(page.rows), total=page.total)
    else:
        footer = _t("pending.page_empty", lang, total=page.total)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    if page.has_more and more_value:
        if len(more_value) > MAX_BUTTON_VALUE:
            raise ValueError("more_value is longer than Slack's 2000-character button value limit")
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": MORE_ACTION_ID, "value": more_value,
            "text": {"type": "plain_text", "text": _t("pending.more", lang), "emoji": True},
        }]})
    return title, blocks
