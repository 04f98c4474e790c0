"""The marks sections of the configuration file: ``[[marks]]``, ``[reactions]`` and the roles
``default_open``, ``resolved``, ``waiting`` (see ``bridge.example.toml`` and :mod:`bridge.triage.marks`)."""
from __future__ import annotations

from bridge.config.source import ConfigSource
from bridge.triage.marks import (
    ACTION_CLAIM, ACTION_RESOLVE, DEFAULT_MARKS, EMOJI_RE, KEY_RE, STATES, Mark, MarkSet, default_reactions,
    normalize_name,
)

_MARK_FIELDS = {"key", "ja", "en", "emoji", "priority", "state"}
_TOP_KEYS = ("default_open", "resolved", "waiting")


def parse_marks(src: ConfigSource, errors: list[str]) -> MarkSet | None:
    """The configured marks (the defaults when the file defines none); None after appending problems to ``errors``."""
    data, lines, where = src.data, src.lines, src.at
    before = len(errors)

    def mark_at(i: int, fld: str) -> str:
        return where(lines.entry("marks", i, fld))

    # -- marks -------------------------------------------------------------------
    raw_marks = data.get("marks")
    marks: list[Mark]
    if raw_marks is None:
        marks = list(DEFAULT_MARKS)
    elif not isinstance(raw_marks, list) or not all(isinstance(x, dict) for x in raw_marks):
        errors.append(f"{where(lines.line('', 'marks'))}: `marks` must be an array of tables: write each mark as a [[marks]] section")
        return None
    elif not raw_marks:
        errors.append(f"{where(lines.line('', 'marks'))}: `marks` is empty: define at least one mark, or remove it to use the defaults")
        return None
    else:
        marks = []
        seen_keys: dict[str, int | None] = {}
        seen_names: dict[str, tuple[str, int | None]] = {}
        seen_emoji: dict[str, tuple[str, int | None]] = {}
        for i, entry in enumerate(raw_marks):
            line = lines.entry("marks", i)
            ident = f"[[marks]] #{i + 1}"
            for unknown in sorted(set(entry) - _MARK_FIELDS):
                errors.append(f"{mark_at(i, unknown)}: {ident}: unknown field `{unknown}` "
                              f"(allowed: {', '.join(sorted(_MARK_FIELDS))})")
            key = entry.get("key")
            if not isinstance(key, str) or not key:
                errors.append(f"{where(line)}: {ident}: missing `key` (a short ASCII id such as \"complaint\")")
                continue
            ident = f"[[marks]] #{i + 1} ({key!r})"
            kline = lines.entry("marks", i, "key")
            if not KEY_RE.match(key):
                errors.append(f"{where(kline)}: {ident}: bad key: use 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit")
            if key in seen_keys:
                errors.append(f"{where(kline)}: {ident}: duplicate key {key!r} (first defined on line {seen_keys[key]})")
                continue
            seen_keys[key] = kline
            ja, en = entry.get("ja"), entry.get("en")
            for fname, value in (("ja", ja), ("en", en)):
                if value is not None and (not isinstance(value, str) or not value.strip()):
                    errors.append(f"{mark_at(i, fname)}: {ident}: `{fname}` must be a non-empty string")
            ja = ja.strip() if isinstance(ja, str) and ja.strip() else None
            en = en.strip() if isinstance(en, str) and en.strip() else None
            if ja is None and en is None:
                errors.append(f"{where(line)}: {ident}: missing name: give `ja` (Japanese) and `en` (English)")
                continue
            ja = ja or en
            en = en or ja
            emoji = entry.get("emoji", "")
            if not isinstance(emoji, str):
                errors.append(f"{mark_at(i, 'emoji')}: {ident}: `emoji` must be a string such as \"rage\"")
                emoji = ""
            emoji = emoji.strip().strip(":")
            if emoji and not EMOJI_RE.match(emoji):
                errors.append(f"{mark_at(i, 'emoji')}: {ident}: bad emoji {entry.get('emoji')!r}: "
                              "use a Slack shortcode name such as \"rage\" or \"white_check_mark\" (not the emoji character)")
                emoji = ""
            if emoji:
                if emoji in seen_emoji:
                    other, oline = seen_emoji[emoji]
                    errors.append(f"{mark_at(i, 'emoji')}: {ident}: emoji {emoji!r} is already used by {other!r} "
                                  f"(line {oline}); each mark needs its own reaction")
                else:
                    seen_emoji[emoji] = (key, lines.entry("marks", i, "emoji"))
            priority = entry.get("priority", (i + 1) * 10)
            if isinstance(priority, bool) or not isinstance(priority, int):
                errors.append(f"{mark_at(i, 'priority')}: {ident}: `priority` must be an integer (lower = more urgent)")
                priority = (i + 1) * 10
            state = entry.get("state", "open")
            if state not in STATES:
                errors.append(f"{mark_at(i, 'state')}: {ident}: unknown state {state!r} (use \"open\", \"waiting\" or \"closed\")")
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
        line = lines.line("", name)
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
    reactions = default_reactions(tuple(marks), settings.get("resolved", ""))
    raw_reactions = data.get("reactions", {})
    if not isinstance(raw_reactions, dict):
        errors.append(f"{where(lines.line('', 'reactions'))}: `reactions` must be a table: [reactions] then emoji = \"action\" lines")
        raw_reactions = {}
    for emoji, action in raw_reactions.items():
        line = lines.line("reactions", emoji)
        name = emoji.strip().strip(":")
        if not EMOJI_RE.match(name):
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

    if len(errors) > before:
        return None
    return MarkSet(marks=tuple(marks), reactions=reactions, **settings)
