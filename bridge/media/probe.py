"""Small readers of media files: an MP4/M4A's duration (``moov/mvhd``), images re-encoded with Pillow."""
from __future__ import annotations

import io
import struct
from typing import BinaryIO

PREVIEW_MAX_BYTES = 1024 * 1024
PREVIEW_SIDE = 480
JPEG_MAX_SIDE = 4096


def mp4_duration_ms(fh: BinaryIO) -> int | None:
    """The duration in ms from an ISO-BMFF file's ``moov/mvhd`` box (None if absent or malformed)."""
    def boxes(end: int):
        while fh.tell() + 8 <= end:
            start = fh.tell()
            header = fh.read(8)
            if len(header) < 8:
                return
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
            elif size == 0:
                size = end - start
            if size < 8:
                return
            yield kind, start, start + size
            fh.seek(start + size)

    fh.seek(0, io.SEEK_END)
    total = fh.tell()
    fh.seek(0)
    for kind, start, end in boxes(total):
        if kind != b"moov":
            continue
        fh.seek(start + 8)
        for inner, istart, _iend in boxes(end):
            if inner != b"mvhd":
                continue
            fh.seek(istart + 8)
            version = fh.read(1)[0]
            fh.read(3)
            if version == 1:
                _c, _m, timescale, duration = struct.unpack(">QQIQ", fh.read(28))
            else:
                _c, _m, timescale, duration = struct.unpack(">IIII", fh.read(16))
            return int(duration * 1000 / timescale) if timescale else None
        return None
    return None


def to_jpeg(data: BinaryIO, max_side: int, max_bytes: int | None = None) -> bytes:
    """Re-encode an image as JPEG no larger than ``max_side`` px (and ``max_bytes`` if given)."""
    from PIL import Image, ImageOps

    with Image.open(data) as img:
        img = ImageOps.exif_transpose(img)
        if img.mode not in ("RGB", "L"):
            background = Image.new("RGB", img.size, (255, 255, 255))
            background.paste(img, mask=img.convert("RGBA").split()[-1])
            img = background
        img.thumbnail((max_side, max_side))
        quality = 85
        while True:
            out = io.BytesIO()
            img.save(out, "JPEG", quality=quality, optimize=True)
            if max_bytes is None or out.tell() <= max_bytes or quality <= 30:
                return out.getvalue()
            quality -= 15


def still_image() -> bytes:
    """A neutral 16:9 still (dark, with a play triangle) for videos Slack has no thumbnail of."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 270), (40, 40, 48))
    ImageDraw.Draw(img).polygon([(210, 95), (210, 175), (280, 135)], fill=(230, 230, 230))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()
