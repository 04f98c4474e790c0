"""Media helpers for the LINE emulator, kept outside ``emulators/line_api.py`` so it can be
split without conflicts:

* real small media bytes, generated without external tools: a PNG (zlib + struct) of any
  size, and ISO-BMFF (MP4 / M4A) files whose ``moov/mvhd`` box carries a real duration;
* :func:`media_problems`: what a real LINE platform would object to in the media URLs the
  bridge sent (image/video/audio messages): not HTTPS (in production mode), not fetchable,
  wrong content type, too large, preview image over 1 MB.
* ``transcoding``: the emulator says ``succeeded`` for stored content; a "still processing"
  answer is injected with ``emu.fail_next("getMessageContentTranscodingByMessageId", 200,
  body={"status": "processing"})`` (faults answer with their status and body).
"""
from __future__ import annotations

import struct
import zlib
from typing import Any, Callable

import requests

# https://developers.line.biz/en/reference/messaging-api/#image-message (and video, audio)
LIMITS = {"image": 10 * 1024 * 1024, "video": 200 * 1024 * 1024, "audio": 200 * 1024 * 1024, "preview": 1024 * 1024}
TYPES = {"image": ("image/jpeg", "image/png"), "video": ("video/mp4",), "audio": ("audio/x-m4a", "audio/mp4", "audio/m4a"),
         "preview": ("image/jpeg", "image/png")}


def make_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30), min_bytes: int = 0) -> bytes:
    """A valid PNG; ``min_bytes`` pads it with a private ancillary chunk to reach a size (for benchmarks)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw))
    pad = min_bytes - len(out) - 12 - 12
    if pad > 0:
        out += chunk(b"prVt", bytes(pad))
    return out + chunk(b"IEND", b"")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def make_mp4(duration_ms: int = 3000, brand: bytes = b"isom", payload: int = 2048) -> bytes:
    """An ISO-BMFF file (``ftyp``, ``moov/mvhd`` with the duration, ``mdat``)."""
    timescale = 1000
    mvhd = struct.pack(">B3xIIII", 0, 0, 0, timescale, duration_ms) + struct.pack(">IH10x", 0x00010000, 0x0100) \
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000) + bytes(24) + struct.pack(">I", 2)
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 0x200) + brand + b"mp41")
    return ftyp + _box(b"moov", _box(b"mvhd", mvhd)) + _box(b"mdat", bytes(payload))


def make_m4a(duration_ms: int = 4000) -> bytes:
    return make_mp4(duration_ms, brand=b"M4A ", payload=1024)


def _line_media_urls(message: dict[str, Any]) -> list[tuple[str, str]]:
    kind = message.get("type")
    out = []
    if kind in ("image", "video", "audio"):
        out.append((kind, message.get("originalContentUrl") or ""))
    if kind in ("image", "video"):
        out.append(("preview", message.get("previewImageUrl") or ""))
    return out


def media_problems(emu: Any, *, production: bool = False, rewrite: Callable[[str], str] | None = None) -> list[str]:
    """Fetch every media URL in the messages delivered so far; describe what LINE would refuse.

    ``rewrite`` maps a URL to where the test can reach it (e.g. PUBLIC_BASE_URL → the test server).
    """
    problems: list[str] = []
    with emu._lock:
        messages = [m for d in emu.deliveries for m in d.messages]
    for message in messages:
        for kind, url in _line_media_urls(message):
            if production and not url.startswith("https://"):
                problems.append(f"{kind} URL is not HTTPS: {url}")
            if len(url) > 2000:
                problems.append(f"{kind} URL longer than 2000 characters")
            try:
                resp = requests.get(rewrite(url) if rewrite else url, timeout=15)
            except requests.RequestException as exc:
                problems.append(f"{kind} URL not fetchable: {url} ({type(exc).__name__})")
                continue
            ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            if resp.status_code != 200:
                problems.append(f"{kind} URL answered {resp.status_code}: {url}")
            elif ctype not in TYPES[kind]:
                problems.append(f"{kind} URL has content type {ctype!r}: {url}")
            elif len(resp.content) > LIMITS[kind]:
                problems.append(f"{kind} is {len(resp.content)} bytes, over LINE's {LIMITS[kind]}: {url}")
        if message.get("type") == "audio" and not isinstance(message.get("duration"), int):
            problems.append("audio message without a duration")
    return problems
