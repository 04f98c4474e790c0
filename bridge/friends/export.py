"""History export (チャット履歴のバックアップ): transcripts as CSV and JSON, streamed.

Rows are produced one conversation at a time (conversations found by SCAN, each
transcript read in pages of 1,000 entries) and written straight to the two files, so an
export of 10,000 conversations never holds more than one page in memory. The JSON file is
one array written incrementally.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import IO, Any

from bridge.friends.csvio import safe_row
from bridge.model import Conversation
from bridge.store import Store
from bridge.store.listing import conversation_ids as all_conversation_ids, transcript_page, with_transcripts

PAGE = 1000
COLUMNS = ["conversation", "name", "account", "time", "direction", "author", "author_name", "kind", "text",
           "media", "slack_link", "line_message_id", "status"]


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


def rows(store: Store, ids: Iterator[str], since: float | None = None, until: float | None = None,
         archive_url: str = "") -> Iterator[dict[str, Any]]:
    """Every transcript entry of the conversations ``ids`` between ``since`` and ``until`` (epoch seconds),
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
                    yield _row(conv, json.loads(raw), archive_url)
                if len(page) < PAGE:
                    break
                offset += PAGE
                page = transcript_page(store, conv_id, lo, hi, offset, PAGE)


def _row(conv: Conversation, e: dict[str, Any], archive_url: str) -> dict[str, Any]:
    link = f"{archive_url}{conv.channel}/p{e['slack_ts'].replace('.', '')}" if archive_url and e.get("slack_ts") else ""
    media = list(e.get("files") or [])
    if e.get("kind") in ("image", "video", "audio", "file") and link and not e.get("unsent"):
        media.append(link)   # the media is shown in the thread message
    return {"conversation": conv.number, "name": conv.name, "account": conv.account,
            "time": dt.datetime.fromtimestamp(e["t"], dt.timezone.utc).isoformat(timespec="seconds"),
            "direction": e["dir"], "author": e.get("author", ""), "author_name": e.get("name", ""),
            "kind": e.get("kind", ""), "text": e.get("text", ""), "media": " ".join(media),
            "slack_link": link, "line_message_id": e.get("line_message_id", ""),
            # "unsent": the friend unsent it (its content is not kept); "edited": text is the latest edit
            "status": "unsent" if e.get("unsent") else "edited" if e.get("edited") else ""}


def write(rows_iter: Iterator[dict[str, Any]], csv_out: IO[str], json_out: IO[str]) -> int:
    """Stream the rows into a CSV file (UTF-8 with BOM for Excel, written by the caller) and a JSON array."""
    writer = csv.DictWriter(csv_out, fieldnames=COLUMNS)
    writer.writeheader()
    json_out.write("[")
    n = 0
    for row in rows_iter:
        writer.writerow(safe_row(row))   # names and messages are the friends' own: no formulas (JSON: as is)
        json_out.write(("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False))
        n += 1
    json_out.write("\n]\n")
    return n


def parse_day(text: str, end: bool = False) -> float:
    """"2026-01-31" → epoch (UTC; the end of the day when ``end``)."""
    day = dt.date.fromisoformat(text)
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.timezone.utc)
    return moment.timestamp()


def export_to_files(store: Store, csv_path: str, json_path: str, conv_id: str | None = None,
                    since: float | None = None, until: float | None = None, archive_url: str = "") -> int:
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as c, open(json_path, "w", encoding="utf-8") as j:
        return write(rows(store, conversation_ids(store, conv_id), since, until, archive_url), c, j)
