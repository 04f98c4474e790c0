"""Text conversion between Slack mrkdwn and LINE plain text, and LINE size limits.

Pure functions only: no I/O, no SDK imports. Everything here is deterministic and
safe to call from any layer.

* :func:`slack_to_line` turns the ``text`` of a Slack message event into what a LINE
  friend should read (mentions resolved, links spelled out, emoji shortcodes turned
  into Unicode, mrkdwn markers removed, entities unescaped).
* The other direction, a LINE friend's text as Slack mrkdwn that cannot mention, link or
  notify, is :func:`bridge.text.mrkdwn.escape` (the one escaper of everything from LINE).

LINE's size limits live in :mod:`bridge.text.limits`.

Sources of the rules:

* Slack, "Formatting text for app surfaces" (docs.slack.dev / api.slack.com
  ``reference/surfaces/formatting``): mrkdwn markers, ``<@U…>``, ``<#C…>``,
  ``<!here>``, ``<!subteam^…>``, ``<!date^…|fallback>``, ``<url|label>`` and
  ``:emoji:`` shortcodes (names from iamcal/emoji-data).
* Slack, "Escaping text": only ``&``, ``<`` and ``>`` are control characters and are
  sent as ``&amp;``, ``&lt;``, ``&gt;``; a raw ``<`` in message text is therefore
  always markup, never something the user typed.
* LINE Messaging API, text message object: ``text`` is at most 5000 characters, and
  "Character counting in a text" says characters are counted in UTF-16 code units
  (an emoji such as 🍎 counts as 2). A reply/push carries at most 5 message objects.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone

import emoji as _emoji

from bridge.text.scan import replace_fences, strip_marker

__all__ = [
    "slack_to_line",
]


# ---------------------------------------------------------------------------
# Slack → LINE
# ---------------------------------------------------------------------------

# Placeholders protect already-converted pieces (mentions, links, code, emoji) from
# the later passes. Slack message text never contains NUL / SOH, and we strip them
# from the input anyway, so they cannot collide with user text.
_PH_OPEN = "\x00"
_PH_CLOSE = "\x01"
_PH_RE = re.compile("\x00(\\d+)\x01")

# Slack "Escaping text": only these three entities are produced by Slack.
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}

# Any raw <...> is Slack markup (literal < and > arrive escaped).
_ANGLE_RE = re.compile(r"<([^<>\n]*)>")
# ``` fenced code (may span lines; found by :func:`replace_fences`, a linear scan) and `inline code`
# (single line).
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")

# :shortcode: optionally followed by a Slack skin tone (":wave::skin-tone-2:").
# Not preceded by an ASCII letter/digit, so "12:30:45" or "a:b:c" are left alone, while
# "了解:ok:" (the Slack composer puts shortcodes right after Japanese text) converts.
_SHORTCODE_RE = re.compile(
    r"(?<![A-Za-z0-9]):([a-z0-9_+'\-]+):(?::skin-tone-([2-6]):)?"
)

# Slack's skin-tone names map to the Fitzpatrick modifiers (iamcal/emoji-data):
# skin-tone-2 = U+1F3FB (type 1-2) … skin-tone-6 = U+1F3FF (type 6).
_SKIN_TONES = {str(n): chr(0x1F3FB + n - 2) for n in range(2, 7)}

# Slack (iamcal/emoji-data) names that the `emoji` package's "alias" language does
# not know under the same spelling. Generic rules in _emoji_for() cover the rest
# (hyphen → underscore, male-/female- prefixes, family-*, flag-xx).
_SLACK_EMOJI = {
    "simple_smile": "\U0001F642",  # 🙂
    "the_horns": "\U0001F918",  # 🤘
    "face_palm": "\U0001F926",  # 🤦
    "smiling_face_with_3_hearts": "\U0001F970",  # 🥰
    "spock-hand": "\U0001F596",  # 🖖
    "i_love_you_hand_sign": "\U0001F91F",  # 🤟
    "hand_with_index_and_middle_fingers_crossed": "\U0001F91E",  # 🤞
    "serious_face_with_symbols_covering_mouth": "\U0001F92C",  # 🤬
    "shocked_face_with_exploding_head": "\U0001F92F",  # 🤯
    "grinning_face_with_star_eyes": "\U0001F929",  # 🤩
    "grinning_face_with_one_large_and_one_small_eye": "\U0001F92A",  # 🤪
    "face_with_open_mouth_vomiting": "\U0001F92E",  # 🤮
    "smiling_face_with_smiling_eyes_and_hand_covering_mouth": "\U0001F92D",  # 🤭
    "face_with_finger_covering_closed_lips": "\U0001F92B",  # 🤫
    "staff_of_aesculapius": "\u2695\ufe0f",  # ⚕️
    "knife_fork_plate": "\U0001F37D\ufe0f",  # 🍽️
    "man_and_woman_holding_hands": "\U0001F46B",  # 👫
    "large_green_circle": "\U0001F7E2",
    "large_orange_circle": "\U0001F7E0",
    "large_yellow_circle": "\U0001F7E1",
    "large_purple_circle": "\U0001F7E3",
    "large_brown_circle": "\U0001F7E4",
    "large_red_square": "\U0001F7E5",
    "large_blue_square": "\U0001F7E6",
    "large_orange_square": "\U0001F7E7",
    "large_yellow_square": "\U0001F7E8",
    "large_green_square": "\U0001F7E9",
    "large_purple_square": "\U0001F7EA",
    "large_brown_square": "\U0001F7EB",
    "woman-heart-man": "\U0001F469\u200d\u2764\ufe0f\u200d\U0001F468",
    "man-heart-man": "\U0001F468\u200d\u2764\ufe0f\u200d\U0001F468",
    "woman-heart-woman": "\U0001F469\u200d\u2764\ufe0f\u200d\U0001F469",
    "woman-kiss-man": "\U0001F469\u200d\u2764\ufe0f\u200d\U0001F48B\u200d\U0001F468",
    "man-kiss-man": "\U0001F468\u200d\u2764\ufe0f\u200d\U0001F48B\u200d\U0001F468",
    "woman-kiss-woman": "\U0001F469\u200d\u2764\ufe0f\u200d\U0001F48B\u200d\U0001F469",
}
_FAMILY_MEMBERS = {"man", "woman", "boy", "girl"}


def _alias(name: str) -> str | None:
    code = f":{name}:"
    out = _emoji.emojize(code, language="alias")
    return None if out == code else out


def _emoji_for(name: str) -> str | None:
    """Unicode for a Slack emoji name, or None for unknown (custom workspace) emoji."""
    if name in _SLACK_EMOJI:
        return _SLACK_EMOJI[name]
    if name.startswith("skin-tone-") and name[10:] in _SKIN_TONES:
        return _SKIN_TONES[name[10:]]
    found = _alias(name)
    if found is None and "-" in name:
        parts = name.split("-")
        if name.startswith("flag-") and len(name) == 7 and name[5:].isalpha():
            # Slack ":flag-jp:" → regional indicator pair.
            return "".join(chr(0x1F1E6 + ord(c) - ord("a")) for c in name[5:])
        if name.startswith("flag-"):
            found = _alias(name[5:].replace("-", "_"))  # flag-england → england
        elif set(parts) <= _FAMILY_MEMBERS and len(parts) >= 2:
            found = _alias("family_" + "_".join(parts))  # man-woman-boy
        elif parts[0] in ("male", "female"):
            found = _alias(("man_" if parts[0] == "male" else "woman_") + "_".join(parts[1:]))
        if found is None:
            found = _alias(name.replace("-", "_"))  # man-shrugging → man_shrugging
    return found


def _with_skin_tone(base: str, tone: str) -> str:
    """Put a Fitzpatrick modifier right after the first code point of ``base``.

    That is where Unicode puts it, also in ZWJ sequences (🤷🏻‍♂️); an emoji
    presentation selector (U+FE0F) after the first code point is replaced.
    """
    rest = base[1:]
    if rest.startswith("\ufe0f"):
        rest = rest[1:]
    return base[0] + tone + rest


def _unescape(text: str) -> str:
    # One pass, so "&amp;lt;" (a literal "&lt;" typed in Slack) becomes "&lt;".
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], text)


def _strip_scheme(url: str) -> str:
    return re.sub(r"^[a-z][a-z0-9+.\-]*://", "", url, flags=re.I)


def _format_link(target: str, label: str | None) -> str:
    url = _unescape(target)
    text = _unescape(label) if label else ""
    lower = url.lower()
    if lower.startswith("mailto:"):
        address = url[7:]
        if not text or text == address:
            return address
        return f"{text} ({address})"
    if lower.startswith("tel:"):
        return text or url[4:]
    if not text:
        return url
    same = {url, url.rstrip("/"), _strip_scheme(url), _strip_scheme(url).rstrip("/")}
    if text in same or text.rstrip("/") in same:
        return url
    return f"{text} ({url})"


def _date_fallback(body: str) -> str:
    # <!date^1392734382^{date_short}^optional_link|fallback> without a fallback.
    parts = body.split("^")
    try:
        ts = int(parts[1])
    except (IndexError, ValueError):
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _at(name: str) -> str:
    return "@" + name.lstrip("@")


def _convert_angle(body: str, users: Mapping[str, str], channels: Mapping[str, str]) -> str:
    """Render one ``<…>`` token from "Formatting text for app surfaces"."""
    target, sep, label = body.partition("|")
    label = label if sep and label != "" else None
    if target.startswith("@"):  # <@U123> / <@U123|name> (also W… enterprise users)
        name = users.get(target[1:])
        if name:
            return _at(name)
        return _at(_unescape(label)) if label else "@someone"
    if target.startswith("#"):  # <#C123|general>; newer events send <#C123|>
        if label:
            return "#" + _unescape(label).lstrip("#")
        name = channels.get(target[1:])
        return "#" + name.lstrip("#") if name else "#channel"
    if target.startswith("!"):
        kind = target[1:].split("^", 1)[0]
        if kind in ("here", "channel", "everyone"):
            return "@" + kind
        if kind == "subteam":
            return _at(_unescape(label)) if label else "@group"
        if kind == "date":
            return _unescape(label) if label else _date_fallback(target)
        return _unescape(label) if label else "@" + kind
    return _format_link(target, label)


_MARKERS = ("*", "_", "~")
# "@\u200bchannel": a broadcast word defused by bridge.text.mrkdwn.escape; LINE gets it back whole.
_DEFUSED_RE = re.compile("@\u200b(?=(?:channel|here|everyone)(?![A-Za-z0-9_]))", re.I)


def _quote_lines(text: str) -> str:
    """Slack blockquotes (``&gt; line`` and ``&gt;&gt;&gt;`` for the rest) → ``> line``.

    A LINE friend gets the familiar e-mail style "> " prefix on every quoted line;
    LINE has no quote formatting of its own.
    """
    out: list[str] = []
    quoting_rest = False
    for line in text.split("\n"):
        if not quoting_rest and line.startswith("&gt;&gt;&gt;"):
            quoting_rest = True
            line = line[12:]
            line = line[1:] if line.startswith(" ") else line
        elif not quoting_rest and line.startswith("&gt;"):
            line = line[4:]
            out.append("> " + (line[1:] if line.startswith(" ") else line))
            continue
        out.append("> " + line if quoting_rest else line)
    return "\n".join(out)


def mentioned_users(text: str) -> list[str]:
    """The user ids ``text`` mentions (``<@U…>``), once each, in order: the names to look up
    before :func:`slack_to_line` (which does no I/O)."""
    found = [m.group(1).partition("|")[0][1:] for m in _ANGLE_RE.finditer(text) if m.group(1).startswith("@")]
    return list(dict.fromkeys(u for u in found if u))


def slack_to_line(text: str, users: Mapping[str, str] | None = None, channels: Mapping[str, str] | None = None) -> str:
    """Convert the ``text`` of a Slack message event into plain text for LINE.

    Rules (Slack "Formatting text for app surfaces" / "Escaping text"):

    * ``<@U123>`` / ``<@U123|name>`` → ``@Display Name`` from ``users`` (id → name, see
      :func:`mentioned_users`), else the label, else ``@someone``; ``<#C123|general>`` →
      ``#general`` (``channels`` when there is no label, else ``#channel``); ``<!here>``/``<!channel>``/
      ``<!everyone>`` → ``@here`` …; ``<!subteam^S1|@team>`` → ``@team``;
      ``<!date^…|fallback>`` → fallback.
    * ``<url|label>`` → ``label (url)``, or just ``url`` when the label is the URL
      (with or without scheme); ``<url>`` → ``url``; ``<mailto:a@b.c|a@b.c>`` →
      ``a@b.c``; ``<tel:…|label>`` → ``label``.
    * ``:shortcode:`` (plus ``::skin-tone-N:``) → Unicode emoji; unknown (custom
      workspace) emoji stay as ``:name:``.
    * ``*bold*``, ``_italic_``, ``~strike~`` markers are removed where Slack formats
      them (see :func:`bridge.text.scan.strip_marker`); code fences (three backticks) and inline-code
      backticks are removed, their content kept verbatim (no emoji/format conversion;
      entities are unescaped and ``<…>`` tokens rendered, since a raw ``<`` is always
      Slack markup).
    * Blockquote lines become ``> line``.
    * ``&amp;``, ``&lt;``, ``&gt;`` are unescaped last, so a literally typed
      ``&lt;@U1&gt;`` stays the text ``<@U1>``; ``@``+zero-width space+``channel`` (a friend's
      text escaped by :func:`bridge.text.mrkdwn.escape`, e.g. quoted by staff) loses the space.
    """
    users, channels = users or {}, channels or {}
    text = text.replace(_PH_OPEN, "").replace(_PH_CLOSE, "")
    pieces: list[str] = []

    def keep(value: str) -> str:
        pieces.append(value)
        return f"{_PH_OPEN}{len(pieces) - 1}{_PH_CLOSE}"

    def restore(value: str) -> str:
        return _PH_RE.sub(lambda m: pieces[int(m.group(1))], value)

    # 1. <…> tokens (raw "<" is always markup, also inside code).
    text = _ANGLE_RE.sub(
        lambda m: keep(_convert_angle(m.group(1), users, channels)), text
    )

    # 2. Code: drop the fences/backticks, keep the content verbatim.
    def fenced(content: str, whole: str) -> str:
        # "```\ncode\n```": the newlines next to the fences belong to the fence.
        if content.startswith("\n"):
            content = content[1:]
        if content.endswith("\n"):
            content = content[:-1]
        return keep(restore(_unescape(content))) if content else whole

    text = replace_fences(text, fenced)
    text = _INLINE_CODE_RE.sub(lambda m: keep(restore(_unescape(m.group(1)))), text)

    # 3. Emoji shortcodes (unknown ones are protected too, so "_" in a custom emoji
    #    name is never read as italics).
    def shortcode(m: re.Match[str]) -> str:
        found = _emoji_for(m.group(1))
        tone = m.group(2)
        if found is None:
            return keep(m.group(0))
        if tone:
            found = _with_skin_tone(found, _SKIN_TONES[tone])
        return keep(found)

    text = _SHORTCODE_RE.sub(shortcode, text)

    # 4. Formatting markers (outer before inner, "*_both_*" loses both).
    for marker in _MARKERS:
        text = strip_marker(text, marker)

    # 5. Blockquotes, 6. entities (last), 7. put the protected pieces back.
    text = _quote_lines(text)
    text = _unescape(text)
    return _DEFUSED_RE.sub("@", restore(text))
