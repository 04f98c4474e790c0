"""Text conversion between Slack mrkdwn and LINE plain text, and LINE size limits.

Pure functions only: no I/O, no SDK imports. Everything here is deterministic and
safe to call from any layer.

* :func:`slack_to_line` turns the ``text`` of a Slack message event into what a LINE
  friend should read (mentions resolved, links spelled out, emoji shortcodes turned
  into Unicode, mrkdwn markers removed, entities unescaped).
* :func:`line_to_slack` turns a LINE friend's text into Slack text that cannot
  trigger Slack's special parsing or notify a whole channel.
* :func:`utf16_len`, :func:`split_for_line`, :func:`batch` deal with LINE limits.
* :func:`preview` makes a one-line excerpt for status lines.

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
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TypeVar

import emoji as _emoji

__all__ = [
    "LINE_TEXT_LIMIT",
    "LINE_MESSAGES_PER_REQUEST",
    "slack_to_line",
    "line_to_slack",
    "utf16_len",
    "split_for_line",
    "batch",
    "preview",
]

#: LINE text message object: max 5000 characters, counted in UTF-16 code units.
LINE_TEXT_LIMIT = 5000
#: LINE reply/push/multicast: max 5 message objects per request.
LINE_MESSAGES_PER_REQUEST = 5

T = TypeVar("T")

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
# ``` fenced code (may span lines) and `inline code` (single line).
_FENCE_RE = re.compile(r"```(.+?)```", re.DOTALL)
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


def _convert_angle(
    body: str,
    resolve_user: Callable[[str], str | None],
    resolve_channel: Callable[[str], str | None] | None,
) -> str:
    """Render one ``<…>`` token from "Formatting text for app surfaces"."""
    target, sep, label = body.partition("|")
    label = label if sep and label != "" else None
    if target.startswith("@"):  # <@U123> / <@U123|name> (also W… enterprise users)
        name = resolve_user(target[1:])
        if name:
            return _at(name)
        return _at(_unescape(label)) if label else "@someone"
    if target.startswith("#"):  # <#C123|general>; newer events send <#C123|>
        if label:
            return "#" + _unescape(label).lstrip("#")
        name = resolve_channel(target[1:]) if resolve_channel else None
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


_WORD = r"[^\W_]"  # a letter or digit in any script (not "_")


def _marker_re(marker: str) -> re.Pattern[str]:
    m = re.escape(marker)
    # Slack treats a marker pair as formatting only when the opening marker is not
    # preceded by a letter/digit and is followed by a non-space, and the closing one
    # is preceded by a non-space and not followed by a letter/digit; it never spans
    # lines. Letters include CJK, so "これは*重要*です" stays literal, exactly as the
    # Slack user saw it, while "これは *重要* です" and "「*重要*」" are bold.
    return re.compile(rf"(?<!{_WORD}){m}(?![\s{m}])([^\n]+?)(?<![\s{m}]){m}(?!{_WORD})")


_MARKERS = [_marker_re(m) for m in ("*", "_", "~")]


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


def slack_to_line(
    text: str,
    resolve_user: Callable[[str], str | None],
    resolve_channel: Callable[[str], str | None] | None = None,
) -> str:
    """Convert the ``text`` of a Slack message event into plain text for LINE.

    Rules (Slack "Formatting text for app surfaces" / "Escaping text"):

    * ``<@U123>`` / ``<@U123|name>`` → ``@Display Name`` from ``resolve_user``, else
      the label, else ``@someone``; ``<#C123|general>`` → ``#general`` (``resolve_channel``
      when there is no label, else ``#channel``); ``<!here>``/``<!channel>``/
      ``<!everyone>`` → ``@here`` …; ``<!subteam^S1|@team>`` → ``@team``;
      ``<!date^…|fallback>`` → fallback.
    * ``<url|label>`` → ``label (url)``, or just ``url`` when the label is the URL
      (with or without scheme); ``<url>`` → ``url``; ``<mailto:a@b.c|a@b.c>`` →
      ``a@b.c``; ``<tel:…|label>`` → ``label``.
    * ``:shortcode:`` (plus ``::skin-tone-N:``) → Unicode emoji; unknown (custom
      workspace) emoji stay as ``:name:``.
    * ``*bold*``, ``_italic_``, ``~strike~`` markers are removed where Slack formats
      them (see :func:`_marker_re`); code fences (three backticks) and inline-code
      backticks are removed, their content kept verbatim (no emoji/format conversion;
      entities are unescaped and ``<…>`` tokens rendered, since a raw ``<`` is always
      Slack markup).
    * Blockquote lines become ``> line``.
    * ``&amp;``, ``&lt;``, ``&gt;`` are unescaped last, so a literally typed
      ``&lt;@U1&gt;`` stays the text ``<@U1>``.
    """
    text = text.replace(_PH_OPEN, "").replace(_PH_CLOSE, "")
    pieces: list[str] = []

    def keep(value: str) -> str:
        pieces.append(value)
        return f"{_PH_OPEN}{len(pieces) - 1}{_PH_CLOSE}"

    def restore(value: str) -> str:
        return _PH_RE.sub(lambda m: pieces[int(m.group(1))], value)

    # 1. <…> tokens (raw "<" is always markup, also inside code).
    text = _ANGLE_RE.sub(
        lambda m: keep(_convert_angle(m.group(1), resolve_user, resolve_channel)), text
    )

    # 2. Code: drop the fences/backticks, keep the content verbatim.
    def code(m: re.Match[str], fence: bool) -> str:
        content = m.group(1)
        if fence:
            # "```\ncode\n```": the newlines next to the fences belong to the fence.
            if content.startswith("\n"):
                content = content[1:]
            if content.endswith("\n"):
                content = content[:-1]
            if not content:
                return m.group(0)
        return keep(restore(_unescape(content)))

    text = _FENCE_RE.sub(lambda m: code(m, True), text)
    text = _INLINE_CODE_RE.sub(lambda m: code(m, False), text)

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
    for pattern in _MARKERS:
        text = pattern.sub(r"\1", text)

    # 5. Blockquotes, 6. entities (last), 7. put the protected pieces back.
    text = _quote_lines(text)
    text = _unescape(text)
    return restore(text)


# ---------------------------------------------------------------------------
# LINE → Slack
# ---------------------------------------------------------------------------

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile("[&<>]")
# "@channel" / "@here" / "@everyone" as a word (any case); an "@" right after an
# e-mail local part ("info@here.com") is not a mention and is left alone.
_BROADCAST_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])@(?=(?:channel|here|everyone)(?![A-Za-z0-9_]))", re.I
)
_ZWSP = "\u200b"


def line_to_slack(text: str) -> str:
    """Make a LINE friend's text safe to post as Slack message text.

    * ``&``, ``<``, ``>`` become ``&amp;``, ``&lt;``, ``&gt;`` (Slack "Escaping text":
      these are Slack's control characters; nothing else is entity-encoded). After
      this, no ``<!channel>``/``<@U…>``/``<url|label>`` markup can be injected.
    * ``@channel``, ``@here``, ``@everyone`` (any case) get a zero-width space after
      the ``@`` so that Slack never turns them into a notification, even when the
      message is posted with ``link_names``/``parse=full``.

    Emoji, newlines and everything else are kept as they are.
    """
    text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
    return _BROADCAST_RE.sub("@" + _ZWSP, text)


# ---------------------------------------------------------------------------
# LINE limits
# ---------------------------------------------------------------------------


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units, the unit LINE counts text limits in.

    ("Character counting in a text": 🍎 counts as 2.) Lone surrogates count as 1.
    """
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _extends(ch: str) -> bool:
    """True for a code point that belongs to the grapheme cluster before it."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")  # combining marks, keycap U+20E3
        or cp == 0x200D  # zero-width joiner
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (🏴󠁧󠁢󠁥󠁮󠁧󠁿)
        or 0x1160 <= cp <= 0x11FF  # Hangul jamo V/T
        or 0xD7B0 <= cp <= 0xD7FF
        or 0xDC00 <= cp <= 0xDFFF  # low surrogate (when a pair arrives unjoined)
    )


def _safe_breaks(text: str) -> list[bool]:
    """``ok[i]`` is True when the text may be cut right before index ``i``.

    A simplified UAX #29 grapheme-cluster check: no cut before a combining/extending
    code point, after a ZWJ, between CR and LF, or inside a regional-indicator pair
    (a flag such as 🇯🇵).
    """
    n = len(text)
    ok = [True] * (n + 1)
    ri_run = 0
    for i in range(1, n):
        prev, cur = text[i - 1], text[i]
        ri_run = ri_run + 1 if _is_regional(prev) else 0
        if (
            _extends(cur)
            or prev == "\u200d"
            or (prev == "\r" and cur == "\n")
            or (_is_regional(cur) and ri_run % 2 == 1)
        ):
            ok[i] = False
    return ok


# Where a chunk may end (the character stays at the end of the chunk).
_SOFT_BREAK_AFTER = set("。、！？!?，．…")


def split_for_line(text: str, limit: int = LINE_TEXT_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 code units each.

    LINE rejects a text message longer than 5000 characters counted in UTF-16 code
    units (Messaging API reference, text message; "Character counting in a text").

    * A chunk ends preferably right after a newline, then after whitespace or
      Japanese/ASCII sentence punctuation (``。、！？!?``), looking only at the second
      half of the allowed window so chunks stay large; otherwise the cut is hard.
    * Cuts never fall inside a grapheme cluster (emoji ZWJ sequences, flags, skin
      tones, combining marks) unless a single cluster is longer than ``limit``; a
      surrogate pair is never split.
    * Nothing is dropped: ``"".join(chunks) == text``, except that chunks consisting
      only of whitespace are left out. Empty/whitespace-only text → ``[]``.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 code units")
    if not text.strip():
        return []
    if utf16_len(text) <= limit:
        return [text]

    ok = _safe_breaks(text)
    n = len(text)
    chunks: list[str] = []
    start = 0
    while start < n:
        # Furthest end index whose chunk fits in `limit` units.
        end, used = start, 0
        while end < n and used + _units(text[end]) <= limit:
            used += _units(text[end])
            end += 1
        if end == n:
            cut = n
        else:
            cut = _choose_cut(text, ok, start, end)
        chunk = text[start:cut]
        if chunk.strip():
            chunks.append(chunk)
        start = cut
    return chunks


def _choose_cut(text: str, ok: list[bool], start: int, end: int) -> int:
    """Index in (start, end] to cut at; ``end`` is the first index that does not fit."""
    floor = start + max(1, (end - start) // 2)
    # 1. right after a newline, 2. right after whitespace / punctuation.
    for accept in (
        lambda ch: ch == "\n",
        lambda ch: ch.isspace() or ch in _SOFT_BREAK_AFTER,
    ):
        for i in range(end, floor - 1, -1):
            if i > start and accept(text[i - 1]) and ok[i]:
                return i
    # 3. hard cut at the last grapheme boundary that fits.
    for i in range(end, start, -1):
        if ok[i]:
            return i
    # 4. a single cluster longer than the limit: cut between code points anyway (a
    #    Python str never splits a surrogate pair; keep an unjoined pair together).
    if end - 1 > start and 0xD800 <= ord(text[end - 1]) <= 0xDBFF:
        return end - 1
    return end


def batch(items: Sequence[T], size: int = LINE_MESSAGES_PER_REQUEST) -> list[list[T]]:
    """Group ``items`` into lists of at most ``size`` (LINE: 5 messages per request)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------
# Previews
# ---------------------------------------------------------------------------


def preview(text: str, width: int = 60) -> str:
    """One-line excerpt of ``text`` for status lines.

    Every run of whitespace (newlines included) becomes one space; the result is at
    most ``width`` characters (code points), ending in ``…`` when it was cut. The cut
    does not split an emoji sequence or a combining sequence.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    ok = _safe_breaks(flat)
    cut = width - 1
    while cut > 0 and not ok[cut]:
        cut -= 1
    return flat[:cut].rstrip() + "…"
