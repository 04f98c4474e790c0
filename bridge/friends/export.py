"""History export (チャット履歴のバックアップ) from the archive: CSV and JSON lines, media as a zip, streamed.

Rows are produced one conversation at a time (conversations found by SCAN, each archive read in
pages of 1,000 entries) and written straight to the files, so an export of 100,000 messages never
holds more than one page of entries in memory. JSON lines: one entry per line, as the archive
keeps it plus the conversation's number, name and account. With media, the files the exported
entries refer to are streamed from the media archive into a zip (``media/<sha256>.<ext>``, the
path the CSV's ``media`` column names); only their hashes are kept while the rows are written.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import mimetypes
import shutil
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from bridge.archive.entry import MEDIA_KINDS, normalize
from bridge.archive.media import MediaArchive
from bridge.friends.csvio import safe_row
from bridge.model import Conversation
from bridge.store import Store
from bridge.store.listing import conversation_ids as all_conversation_ids, transcript_page, with_transcripts

PAGE = 1000
COLUMNS = ["conversation", "name", "account", "time", "direction", "kind", "author", "author_name", "text",
           "media", "files", "via", "status", "broadcast_id", "canned", "slack_link", "line_message_id", "id"]
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "video/mp4": "mp4", "audio/m4a": "m4a",
              "audio/x-m4a": "m4a", "audio/mp4": "m4a", "application/pdf": "pdf"}


BATCH = 200   # conversations read per round trip (their hashes and first transcript pages, pipelined)


def conversation_ids(store: Store, conv_id: str | None = None) -> Iterator[str]:
    """One conversation, or every conversation (SCAN: nothing is listed in memory)."""
    if conv_id:
        yield conv_id
        return
    yield from all_conversation_ids(store)


def _batches(ids: Iterator[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for conv_id in ids:
        batch.append(conv_id)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def entries(store: Store, ids: Iterator[str], since: float | None = None,
            until: float | None = None) -> Iterator[tuple[Conversation, dict[str, Any]]]:
    """Every archived entry of the conversations ``ids`` between ``since`` and ``until`` (epoch seconds),
    oldest first per conversation. Memory: one batch of conversations with one page of entries each."""
    lo = "-inf" if since is None else repr(since)
    hi = "+inf" if until is None else repr(until)
    for batch in _batches(ids):
        for conv_id, (data, page) in zip(batch, with_transcripts(store, batch, lo, hi, PAGE)):
            if not data or not data.get("source_type"):
                continue
            conv = Conversation.from_hash(data)
            offset = 0
            while True:
                for raw in page:
                    yield conv, normalize(json.loads(raw))
                if len(page) < PAGE:
                    break
                offset += PAGE
                page = transcript_page(store, conv_id, lo, hi, offset, PAGE)


def media_path(ref: dict[str, Any]) -> str:
    """Where an archived file is in the export's zip."""
    ctype = str(ref.get("type") or "").split(";")[0].strip().lower()
    ext = EXTENSIONS.get(ctype) or (mimetypes.guess_extension(ctype) or ".bin").lstrip(".")
    return f"media/{ref['sha256']}.{ext}"


def row(conv: Conversation, e: dict[str, Any], archive_url: str = "") -> dict[str, Any]:
    ts = e.get("slack_ts") or ""
    link = f"{archive_url}{conv.channel}/p{ts.replace('.', '')}" if archive_url and ts and ":" not in ts else ""
    media = [media_path(m) for m in e.get("media") or [] if isinstance(m, dict) and m.get("sha256")]
    files = list(e.get("files") or [])
    if e.get("kind") in MEDIA_KINDS and link and not e.get("unsent") and not media:
        files.append(link)   # not archived (from before the archive): the thread message shows it
    return {"conversation": conv.number, "name": conv.name, "account": conv.account,
            "time": dt.datetime.fromtimestamp(e["t"], dt.timezone.utc).isoformat(timespec="seconds"),
            "direction": e.get("dir", ""), "kind": e.get("kind", ""), "author": e.get("author", ""),
            "author_name": e.get("name", ""), "text": e.get("text", ""), "media": " ".join(media),
            "files": " ".join(str(f) for f in files), "via": e.get("via", ""),
            # "unsent": the friend unsent it (its content is not kept); "edited": text is the latest edit;
            # else how a message the bridge sent went: "sent" | "failed" | "cancelled"
            "status": "unsent" if e.get("unsent") else "edited" if e.get("edited") else e.get("status", ""),
            "broadcast_id": e.get("broadcast_id", ""), "canned": e.get("canned", ""), "slack_link": link,
            "line_message_id": e.get("line_message_id", ""), "id": e.get("id", "")}


def rows(store: Store, ids: Iterator[str], since: float | None = None, until: float | None = None,
         archive_url: str = "") -> Iterator[dict[str, Any]]:
    """The export's rows (CSV columns) of the conversations ``ids``, streamed."""
    for conv, e in entries(store, ids, since, until):
        yield row(conv, e, archive_url)


def write(items: Iterator[tuple[Conversation, dict[str, Any]]], csv_out: IO[str], jsonl_out: IO[str],
          archive_url: str = "", media: set[str] | None = None) -> int:
    """Stream the entries into a CSV file (UTF-8 with BOM for Excel, opened by the caller) and JSON lines.
    ``media``: a set that collects the hashes of the archived files the entries refer to."""
    writer = csv.DictWriter(csv_out, fieldnames=COLUMNS)
    writer.writeheader()
    n = 0
    for conv, e in items:
        writer.writerow(safe_row(row(conv, e, archive_url)))   # the friends' own words: no formulas (JSON: as is)
        jsonl_out.write(json.dumps({"conversation": conv.number, "conversation_name": conv.name, "account": conv.account,
                                    **e}, ensure_ascii=False) + "\n")
        if media is not None:
            for m in e.get("media") or []:
                if isinstance(m, dict) and m.get("sha256"):
                    media.add(f"{m['sha256']}\t{m.get('type') or ''}")
        n += 1
    return n


def write_media_zip(archive: MediaArchive, refs: set[str], zip_path: str) -> tuple[int, list[str]]:
    """The archived files into a zip, each streamed from the archive; (files written, hashes missing)."""
    written, missing = 0, []
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for item in sorted(refs):
            sha, _, ctype = item.partition("\t")
            try:
                src = archive.open(sha)
            except FileNotFoundError:
                missing.append(sha)   # not stored yet (the archive is catching up) or deleted
                continue
            with src, zf.open(media_path({"sha256": sha, "type": ctype}), "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            written += 1
    return written, missing


def parse_day(text: str, end: bool = False) -> float:
    """"2026-01-31" → epoch (UTC; the end of the day when ``end``)."""
    day = dt.date.fromisoformat(text)
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.timezone.utc)
    return moment.timestamp()


def export_to_files(store: Store, csv_path: str, jsonl_path: str, conv_id: str | None = None,
                    since: float | None = None, until: float | None = None, archive_url: str = "",
                    archive: MediaArchive | None = None, zip_path: str = "") -> int:
    """CSV + JSON lines (+ the media zip when ``archive`` and ``zip_path`` are given); returns the rows written."""
    refs: set[str] | None = set() if archive is not None and zip_path else None
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as c, open(jsonl_path, "w", encoding="utf-8") as j:
        n = write(entries(store, conversation_ids(store, conv_id), since, until), c, j, archive_url, refs)
    if refs is not None and archive is not None:
        write_media_zip(archive, refs, zip_path)
    return n
