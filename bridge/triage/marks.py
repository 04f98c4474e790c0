"""Conversation marks (対応マーク).

A *mark* says where a LINE conversation stands: 要対応, クレーム, 返信待ち, 対応済み...
Conversations store only the mark's ``key``, so renaming a mark (its ``ja``/``en``
names or its emoji) never loses anything; removing a mark from the configuration
makes conversations that still carry it behave like the ``default_open`` mark.

Each mark has a ``state``:

* ``"open"``: somebody on the team has to act; shown by the default ``/pending``.
* ``"waiting"`` (返信待ち): the team is waiting for the friend; kept in the backlog
  indexes but only listed by ``/pending`` when that mark is asked for explicitly.
* ``"closed"`` (対応済み): not in the backlog at all.

The defaults combine LINE Official Account Manager's 要対応 / 対応済み with Liny's
対応マーク. The configuration file (``BRIDGE_CONFIG``, see ``bridge.example.toml``,
parsed by :mod:`bridge.config.marks`) may replace them with its ``[[marks]]`` array and
override which Slack reaction does what with its ``[reactions]`` table.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "STATES",
    "Mark",
    "MarkSet",
    "default_marks",
    "normalize_name",
]

#: Valid values of :attr:`Mark.state`.
STATES = ("open", "waiting", "closed")

#: Reaction actions besides ``mark:<key>``.
ACTION_CLAIM = "claim"
ACTION_RESOLVE = "resolve"

# A mark key ends up in Redis key names, in /pending arguments and in button values:
# keep it to lower-case ASCII words.
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# Slack emoji shortcode (reaction name) without colons; skin tones look like "+1::skin-tone-2".
EMOJI_RE = re.compile(r"^[a-z0-9_+'\-]{1,100}(::skin-tone-[2-6])?$")


def normalize_name(text: str) -> str:
    """Comparison form of a mark name: NFKC, case-folded, without any whitespace.

    So ``質問(中)`` == ``質問（中）``, ``ＣＬＡＩＭ`` == ``claim`` and ``Needs reply`` == ``needsreply``.
    """
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _lang(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "ja"


@dataclass(frozen=True)
class Mark:
    """One mark. ``key`` is what conversations store; everything else may be renamed freely."""

    key: str
    ja: str
    en: str
    emoji: str          # Slack reaction shortcode without colons, e.g. "rage"
    priority: int       # lower = more urgent
    state: str = "open"  # "open" | "waiting" | "closed"

    def label(self, lang: str | None) -> str:
        """The name in ``lang`` ("en" → English, anything else → Japanese)."""
        return self.en if _lang(lang) == "en" else self.ja

    def display(self, lang: str | None) -> str:
        """Emoji and name for Slack mrkdwn, e.g. ``":rage: クレーム"``."""
        return f":{self.emoji}: {self.label(lang)}" if self.emoji else self.label(lang)


@dataclass(frozen=True)
class MarkSet:
    """The configured marks plus what each Slack reaction does.

    ``reactions`` maps an emoji shortcode to ``"claim"``, ``"resolve"`` or ``"mark:<key>"``.
    ``default_open`` is the mark of a new (or re-opened) conversation and the stand-in
    for unknown keys; ``resolved`` is what "resolve" sets; ``waiting`` is the
    返信待ち mark ("" when the configuration has none).
    """

    marks: tuple[Mark, ...]
    reactions: dict[str, str] = field(default_factory=dict)
    default_open: str = "needs_reply"
    resolved: str = "resolved"
    waiting: str = "awaiting_friend"

    def __post_init__(self) -> None:
        keys = {m.key for m in self.marks}
        for role in ("default_open", "resolved"):
            if getattr(self, role) not in keys:
                raise ValueError(f"MarkSet.{role} = {getattr(self, role)!r} is not one of the marks")
        if self.waiting and self.waiting not in keys:
            raise ValueError(f"MarkSet.waiting = {self.waiting!r} is not one of the marks")
        order = sorted(range(len(self.marks)), key=lambda i: (self.marks[i].priority, i))
        ordered = tuple(self.marks[i] for i in order)
        object.__setattr__(self, "_ordered", ordered)
        object.__setattr__(self, "_by_key", {m.key: m for m in self.marks})
        object.__setattr__(self, "_rank", {m.key: i for i, m in enumerate(ordered)})
        names: dict[str, Mark] = {}
        # Later entries never shadow earlier ones: key first, then ja/en names, then emoji.
        for m in ordered:
            names.setdefault(normalize_name(m.key), m)
        for m in ordered:
            for n in (m.ja, m.en):
                names.setdefault(normalize_name(n), m)
        for m in ordered:
            if m.emoji:
                names.setdefault(normalize_name(f":{m.emoji}:"), m)
        object.__setattr__(self, "_names", names)

    # -- lookup ---------------------------------------------------------------------
    def get(self, key: str) -> Mark | None:
        """The mark stored as ``key``, or None when the configuration does not define it."""
        return self._by_key.get(key)  # type: ignore[attr-defined]

    def effective(self, key: str) -> Mark:
        """The mark ``key`` behaves as: itself, or ``default_open`` when it is unknown."""
        return self.get(key) or self._by_key[self.default_open]  # type: ignore[attr-defined]

    def find(self, text: str, lang: str | None = None) -> Mark | None:
        """A mark by key, Japanese or English name, or ``:emoji:``; case/width/space-insensitive (NFKC).

        ``lang`` is accepted for symmetry with the display functions; names of both
        languages always match (a Japanese team may still type ``complaint``).
        """
        norm = normalize_name(text)
        if not norm:
            return None
        return self._names.get(norm)  # type: ignore[attr-defined]

    def rank(self, key: str) -> int:
        """Position of ``key`` in priority order (0 = most urgent); unknown keys rank as ``default_open``."""
        ranks: dict[str, int] = self._rank  # type: ignore[attr-defined]
        return ranks.get(key, ranks[self.default_open])

    def state(self, key: str) -> str:
        """State of ``key`` ("open" | "waiting" | "closed"); unknown keys behave as ``default_open``."""
        return self.effective(key).state

    def ordered(self) -> list[Mark]:
        """All marks, most urgent first (ties keep the definition order)."""
        return list(self._ordered)  # type: ignore[attr-defined]

    def open_marks(self) -> list[Mark]:
        """Marks whose conversations are listed by the default ``/pending`` (state "open")."""
        return [m for m in self.ordered() if m.state == "open"]

    def backlog_marks(self) -> list[Mark]:
        """Marks kept in the backlog indexes: state "open" or "waiting"."""
        return [m for m in self.ordered() if m.state in ("open", "waiting")]

    def reaction_action(self, emoji: str) -> str | None:
        """What a reaction does: "claim", "resolve", "mark:<key>", or None (ignored)."""
        return self.reactions.get(emoji.strip(":"))

    def fingerprint(self) -> str:
        """Changes whenever stored backlog scores or memberships would change.

        Covers the priority order of the keys, their states and ``default_open``
        (the stand-in for unknown keys); names and emoji are not part of it.
        """
        payload = json.dumps([[m.key, m.state] for m in self.ordered()] + [self.default_open], separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------
# defaults
# ---------------------------------------------------------------------------

DEFAULT_MARKS: tuple[Mark, ...] = (
    Mark("complaint", "クレーム", "Complaint", "rage", 10),
    Mark("account_trouble", "アカウントトラブル", "Account trouble", "warning", 20),
    Mark("needs_reply", "要対応", "Needs reply", "red_circle", 30),
    Mark("unconfirmed", "未確認", "Unconfirmed", "new", 40),
    Mark("question_mid", "質問(中)", "Question (medium)", "question", 50),
    Mark("inquiry", "問い合わせ", "Inquiry", "incoming_envelope", 60),
    Mark("question_low", "質問(低)", "Question (low)", "grey_question", 70),
    Mark("needs_approach", "要アプローチ", "Needs follow-up", "mega", 80),
    Mark("confirmed", "確認済み", "Confirmed", "ballot_box_with_check", 90),
    Mark("awaiting_friend", "返信待ち", "Waiting for reply", "hourglass_flowing_sand", 100, "waiting"),
    Mark("resolved", "対応済み", "Resolved", "white_check_mark", 110, "closed"),
)

#: Reactions that exist whatever the marks are (a mark using the same emoji wins).
_BASE_REACTIONS = {"raising_hand": ACTION_CLAIM, "white_check_mark": ACTION_RESOLVE}


def default_reactions(marks: tuple[Mark, ...], resolved: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in marks:
        if m.emoji:
            out[m.emoji] = ACTION_RESOLVE if m.key == resolved else f"mark:{m.key}"
    for emoji, action in _BASE_REACTIONS.items():
        out.setdefault(emoji, action)
    return out


def default_marks() -> MarkSet:
    """The built-in marks (LINE OAM 要対応/対応済み + Liny-style 対応マーク) and reactions."""
    return MarkSet(marks=DEFAULT_MARKS, reactions=default_reactions(DEFAULT_MARKS, "resolved"))

