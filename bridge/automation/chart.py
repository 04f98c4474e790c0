"""The ``/stats`` chart: first-response time per staff member (and the team), median and p90 as
horizontal bars, drawn with Pillow into a PNG.

Fonts: ``BRIDGE_CHART_FONT`` when set (checked at start-up), else the first CJK font found at
the usual Debian/Ubuntu/Fedora/macOS paths, else a Latin font (DejaVu, Liberation), else
Pillow's built-in one. Every text is checked glyph by glyph before it is drawn
(:meth:`ChartFont.drawable`): a Japanese title falls back to English and a Japanese display
name to the person's Slack handle or user id, so the chart never shows tofu boxes.
"""
from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from typing import Callable

from PIL import Image, ImageDraw, ImageFont

from bridge.humanize import waited
from bridge.i18n import t

log = logging.getLogger(__name__)

CJK_FONTS = (
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",           # Debian/Ubuntu fonts-ipafont-gothic
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",        # fonts-ipaexfont-gothic
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",          # Debian's alternatives link
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",       # fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",            # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",     # Fedora
    "/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",                 # macOS
    "/Library/Fonts/Arial Unicode.ttf",
)
LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
)

# Layout (pixels). Bars start at LEFT and the longest p90 bar is BAR_AREA wide.
WIDTH, LEFT, BAR_AREA = 860, 220, 500
TOP = 84             # title and legend above; the first row starts here
ROW, BAR, GAP = 48, 15, 3   # per row: the median bar, GAP, the p90 bar
BOTTOM = 24
MAX_ROWS = 25
BACKGROUND = (255, 255, 255)
TEXT = (40, 40, 40)
MUTED = (110, 110, 110)
RULE = (200, 200, 200)
MEDIAN_COLOR = (38, 99, 172)
P90_COLOR = (150, 188, 230)


@dataclass(frozen=True)
class ChartRow:
    labels: tuple[str, ...]   # candidates, best first: the first the font can draw is shown
    median: float             # seconds
    p90: float
    n: int


class ChartFont:
    """A font at a size, and whether it can draw a text (every character has a glyph)."""

    def __init__(self, path: str = "", size: int = 16):
        self.path = path
        self.font = ImageFont.truetype(path, size) if path else _builtin(size)
        self._glyphs: dict[str, bytes] = {}
        self._missing = self._glyph("\U0010fffd")   # a private-use code point: no font has it → .notdef

    def _glyph(self, ch: str) -> bytes:
        if ch not in self._glyphs:
            img = Image.new("L", (64, 64))
            ImageDraw.Draw(img).text((8, 8), ch, font=self.font, fill=255)
            self._glyphs[ch] = img.tobytes()
        return self._glyphs[ch]

    def drawable(self, text: str) -> bool:
        return bool(text) and all(ch.isspace() or self._glyph(ch) != self._missing for ch in text)

    def pick(self, *candidates: str) -> str:
        """The first candidate this font can draw (else an ASCII-only rendering of the last)."""
        for text in candidates:
            if self.drawable(text):
                return text
        return (candidates[-1] if candidates else "").encode("ascii", "replace").decode()


def _builtin(size: int):
    try:
        return ImageFont.load_default(size)   # Pillow ≥ 10.1: a scalable Latin font
    except TypeError:
        return ImageFont.load_default()


def find_font(configured: str = "") -> str:
    """The font file to use ("" = Pillow's built-in font)."""
    if configured:
        return configured
    for path in CJK_FONTS + LATIN_FONTS:
        if os.path.isfile(path):
            return path
    return ""


def load_fonts(configured: str = "") -> tuple[ChartFont, ChartFont]:
    """(text font, title font); an unreadable font file is logged and replaced by the built-in one."""
    path = find_font(configured)
    try:
        return ChartFont(path, 15), ChartFont(path, 19)
    except OSError as exc:
        log.warning("chart font %s could not be loaded (%s); using Pillow's built-in font", path, exc)
        return ChartFont("", 15), ChartFont("", 19)


def render_chart(rows: list[ChartRow], days: int, lang: str, fonts: tuple[ChartFont, ChartFont]) -> bytes:
    """The PNG: one row per entry of ``rows`` (the first is the team), two bars each."""
    text_font, title_font = fonts
    rows = rows[:MAX_ROWS]
    height = TOP + ROW * len(rows) + BOTTOM
    img = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(img)

    def say(key: str, font: ChartFont, **kw) -> str:   # in the configured language, else English
        return font.pick(t(key, lang, **kw), t(key, "en", **kw))

    def duration(seconds: float) -> str:
        return text_font.pick(waited(seconds, lang), waited(seconds, "en"))

    draw.text((16, 14), say("stats.chart_title", title_font, days=days), font=title_font.font, fill=TEXT)
    x = LEFT
    for color, key in ((MEDIAN_COLOR, "stats.chart_median"), (P90_COLOR, "stats.chart_p90")):
        draw.rectangle((x, 52, x + 11, 63), fill=color)
        label = say(key, text_font)
        draw.text((x + 18, 49), label, font=text_font.font, fill=MUTED)
        x += 40 + int(draw.textlength(label, font=text_font.font))
    longest = max((r.p90 for r in rows), default=0.0) or 1.0
    scale = BAR_AREA / longest
    draw.line((LEFT - 1, TOP - 6, LEFT - 1, height - BOTTOM + 4), fill=RULE, width=1)
    for i, row in enumerate(rows):
        y = TOP + i * ROW
        name, suffix = text_font.pick(*row.labels), f" ({row.n})"
        label = name + suffix
        while len(name) > 1 and draw.textlength(label, font=text_font.font) > LEFT - 24:
            name = name[:-1]
            label = name + ("…" if text_font.drawable("…") else "...") + suffix
        draw.text((16, y + BAR - 6), label, font=text_font.font, fill=TEXT)
        for offset, value, color in ((0, row.median, MEDIAN_COLOR), (BAR + GAP, row.p90, P90_COLOR)):
            end = LEFT + max(1, round(value * scale))
            draw.rectangle((LEFT, y + offset, end - 1, y + offset + BAR - 1), fill=color)
            draw.text((end + 8, y + offset - 1), duration(value), font=text_font.font, fill=MUTED)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def staff_labels(user: str, display_name: Callable[[str], str | None], handle: Callable[[str], str],
                 font: ChartFont) -> tuple[str, ...]:
    """Label candidates of a staff member: display name, then handle, then user id (asked lazily)."""
    if user == "?":
        return ("?",)
    name = display_name(user) or ""
    if font.drawable(name):
        return (name,)
    return tuple(x for x in (handle(user), user) if x)
