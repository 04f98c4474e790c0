"""The marks section of the configuration file (``[[marks]]``, ``[reactions]``, roles).

Every problem is reported as ``file:line: …`` (see ``bridge.example.toml``).
"""
from __future__ import annotations

import re
import tomllib

from bridge.triage.marks import (
    _DEFAULTS, _EMOJI_RE, _KEY_RE, ACTION_CLAIM, ACTION_RESOLVE, STATES, Mark, MarkConfigError, MarkSet,
    _default_reactions, default_marks, normalize_name,
)

# ---------------------------------------------------------------------------
# the configuration file
# ---------------------------------------------------------------------------

_MARK_FIELDS = {"key", "ja", "en", "emoji", "priority", "state"}
_TOP_KEYS = ("default_open", "resolved", "waiting")


class _Lines:
    """Finds the line of a ``[[marks]]`` entry / field or a ``[reactions]`` entry in the raw text.

    tomllib does not report positions of valid values, so this is a small line scanner
    good enough for error messages (it understands the usual one-key-per-line layout).
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
    _ASSIGN = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_+\-]+)\s*=")

    def __init__(self, text: str):
        self.mark_start: list[int] = []
        self.mark_fields: list[dict[str, int]] = []
        self.reactions: dict[str, int] = {}
        self.top: dict[str, int] = {}
        section: str | None = None
        for lineno, line in enumerate(text.splitlines(), start=1):
            h = self._HEADER.match(line)
            if h and line.lstrip().startswith("["):
                name = h.group(1).strip()
                if line.lstrip().startswith("[[") and name == "marks":
                    section = "marks"
                    self.mark_start.append(lineno)
                    self.mark_fields.append({})
                elif name == "reactions":
                    section = "reactions"
                else:
                    section = "other"
                continue
            a = self._ASSIGN.match(line)
            if not a:
                continue
            key = a.group(1).strip("\"'")
            if section is None:
                self.top.setdefault(key, lineno)
            elif section == "marks":
                self.mark_fields[-1].setdefault(key, lineno)
            elif section == "reactions":
                self.reactions.setdefault(key, lineno)

    def mark(self, index: int, fld: str | None = None) -> int | None:
        if index >= len(self.mark_start):
            return None
        if fld is not None and fld in self.mark_fields[index]:
            return self.mark_fields[index][fld]
        return self.mark_start[index]


def load_marks(path: str | None) -> MarkSet:
    """Read the marks configuration (TOML) at ``path``; ``None`` or ``""`` → :func:`default_marks`.

    Raises :class:`MarkConfigError` listing every problem with ``file:line``, or
    ``OSError`` when the file cannot be read.
    """
    if not path:
        return default_marks()
    with open(path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("utf-8-sig", errors="replace")
    return parse_marks(text, source=path)


def parse_marks(text: str, source: str = "<config>") -> MarkSet:
    """Like :func:`load_marks` for TOML text already in memory (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MarkConfigError([f"{source}: not valid TOML: {exc}"]) from None
    lines = _Lines(text)
    errors: list[str] = []

    def where(line: int | None) -> str:
        return f"{source}:{line}" if line else source

    # -- marks -------------------------------------------------------------------
    raw_marks = data.get("marks")
    marks: list[Mark]
    if raw_marks is None:
        marks = list(_DEFAULTS)
    elif not isinstance(raw_marks, list) or not all(isinstance(x, dict) for x in raw_marks):
        raise MarkConfigError([f"{where(lines.top.get('marks'))}: `marks` must be an array of tables: write each mark as a [[marks]] section"])
    elif not raw_marks:
        raise MarkConfigError([f"{where(lines.top.get('marks'))}: `marks` is empty: define at least one mark, or remove it to use the defaults"])
    else:
        marks = []
        seen_keys: dict[str, int | None] = {}
        seen_names: dict[str, tuple[str, int | None]] = {}
        seen_emoji: dict[str, tuple[str, int | None]] = {}
        for i, entry in enumerate(raw_marks):
            line = lines.mark(i)
            ident = f"[[marks]] #{i + 1}"
            for unknown in sorted(set(entry) - _MARK_FIELDS):
                errors.append(f"{where(lines.mark(i, unknown))}: {ident}: unknown field `{unknown}` "
                              f"(allowed: {', '.join(sorted(_MARK_FIELDS))})")
            key = entry.get("key")
            if not isinstance(key, str) or not key:
                errors.append(f"{where(line)}: {ident}: missing `key` (a short ASCII id such as \"complaint\")")
                continue
            ident = f"[[marks]] #{i + 1} ({key!r})"
            kline = lines.mark(i, "key")
            if not _KEY_RE.match(key):
                errors.append(f"{where(kline)}: {ident}: bad key: use 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit")
            if key in seen_keys:
                errors.append(f"{where(kline)}: {ident}: duplicate key {key!r} (first defined on line {seen_keys[key]})")
                continue
            seen_keys[key] = kline
            ja, en = entry.get("ja"), entry.get("en")
            for fname, value in (("ja", ja), ("en", en)):
                if value is not None and (not isinstance(value, str) or not value.strip()):
                    errors.append(f"{where(lines.mark(i, fname))}: {ident}: `{fname}` must be a non-empty string")
            ja = ja.strip() if isinstance(ja, str) and ja.strip() else None
            en = en.strip() if isinstance(en, str) and en.strip() else None
            if ja is None and en is None:
                errors.append(f"{where(line)}: {ident}: missing name: give `ja` (Japanese) and `en` (English)")
                continue
            ja = ja or en
            en = en or ja
            emoji = entry.get("emoji", "")
            if not isinstance(emoji, str):
                errors.append(f"{where(lines.mark(i, 'emoji'))}: {ident}: `emoji` must be a string such as \"rage\"")
                emoji = ""
            emoji = emoji.strip().strip(":")
            if emoji and not _EMOJI_RE.match(emoji):
                errors.append(f"{where(lines.mark(i, 'emoji'))}: {ident}: bad emoji {entry.get('emoji')!r}: "
                              "use a Slack shortcode name such as \"rage\" or \"white_check_mark\" (not the emoji character)")
                emoji = ""
            if emoji:
                if emoji in seen_emoji:
                    other, oline = seen_emoji[emoji]
                    errors.append(f"{where(lines.mark(i, 'emoji'))}: {ident}: emoji {emoji!r} is already used by {other!r} "
                                  f"(line {oline}); each mark needs its own reaction")
                else:
                    seen_emoji[emoji] = (key, lines.mark(i, "emoji"))
            priority = entry.get("priority", (i + 1) * 10)
            if isinstance(priority, bool) or not isinstance(priority, int):
                errors.append(f"{where(lines.mark(i, 'priority'))}: {ident}: `priority` must be an integer (lower = more urgent)")
                priority = (i + 1) * 10
            state = entry.get("state", "open")
            if state not in STATES:
                errors.append(f"{where(lines.mark(i, 'state'))}: {ident}: unknown state {state!r} (use \"open\", \"waiting\" or \"closed\")")
                state = "open"
            for name in {normalize_name(ja), normalize_name(en)}:
                if name in seen_names and seen_names[name][0] != key:
                    other, oline = seen_names[name]
                    errors.append(f"{where(line)}: {ident}: name {name!r} is already used by {other!r} (line {oline}); "
                                  "/pending could not tell them apart")
                seen_names.setdefault(name, (key, line))
            marks.append(Mark(key=key, ja=ja, en=en, emoji=emoji, priority=priority, state=state))

    by_key = {m.key: m for m in marks}

    # -- default_open / resolved / waiting --------------------------------------------
    settings: dict[str, str] = {}
    defaults = {"default_open": "needs_reply", "resolved": "resolved", "waiting": "awaiting_friend"}
    wanted_state = {"default_open": "open", "resolved": "closed", "waiting": "waiting"}
    for name in _TOP_KEYS:
        given = name in data
        value = data.get(name, defaults[name])
        line = lines.top.get(name)
        if not isinstance(value, str):
            errors.append(f"{where(line)}: `{name}` must be a mark key (a string)")
            continue
        if name == "waiting" and value == "":
            settings[name] = ""
            continue
        if value not in by_key:
            if name == "waiting" and not given:
                settings[name] = ""  # the replaced marks have no 返信待ち mark: the feature is off
                continue
            hint = "" if given else f" (the default; set `{name} = \"...\"` at the top of the file)"
            errors.append(f"{where(line)}: `{name}` is {value!r}{hint}, but no [[marks]] entry has that key")
            continue
        if by_key[value].state != wanted_state[name]:
            errors.append(f"{where(line)}: `{name}` mark {value!r} must have state = \"{wanted_state[name]}\" "
                          f"(it has {by_key[value].state!r})")
        settings[name] = value

    # -- reactions ----------------------------------------------------------------------
    reactions = _default_reactions(tuple(marks), settings.get("resolved", ""))
    raw_reactions = data.get("reactions", {})
    if not isinstance(raw_reactions, dict):
        errors.append(f"{where(lines.top.get('reactions'))}: `reactions` must be a table: [reactions] then emoji = \"action\" lines")
        raw_reactions = {}
    for emoji, action in raw_reactions.items():
        line = lines.reactions.get(emoji)
        name = emoji.strip().strip(":")
        if not _EMOJI_RE.match(name):
            errors.append(f"{where(line)}: [reactions]: bad emoji {emoji!r}: use a Slack shortcode name such as \"eyes\"")
            continue
        if not isinstance(action, str):
            errors.append(f"{where(line)}: [reactions] {emoji}: the action must be a string")
            continue
        if action in ("", "none"):
            reactions.pop(name, None)
            continue
        if action in (ACTION_CLAIM, ACTION_RESOLVE):
            reactions[name] = action
            continue
        if action.startswith("mark:"):
            target = action[5:]
            if target not in by_key:
                errors.append(f"{where(line)}: [reactions] {emoji} = {action!r}: no [[marks]] entry has key {target!r}")
                continue
            reactions[name] = action
            continue
        errors.append(f"{where(line)}: [reactions] {emoji} = {action!r}: unknown action "
                      "(use \"claim\", \"resolve\", \"mark:<key>\" or \"none\")")

    if errors:
        raise MarkConfigError(errors)
    return MarkSet(marks=tuple(marks), reactions=reactions, **settings)
