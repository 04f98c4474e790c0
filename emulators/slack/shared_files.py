"""Files as messages show them: shares (a file posted in a channel), ``slack_file`` images in blocks,
and permalinks in a message's text (Slack then attaches the file).

Mixed into :class:`~emulators.slack.core.SlackEmulator` beside :mod:`emulators.slack.files` (the
stored files, uploads and downloads). A ``slack_file`` must name an existing, processed png/jpg/gif
of this team that the app may see (its own upload, or one shared somewhere); otherwise
``invalid_blocks`` with ``invalid slack file``, as Slack answers.
https://docs.slack.dev/reference/block-kit/composition-objects/slack-file-object
"""
from __future__ import annotations

import re
from typing import Any

#: Image types a ``slack_file`` may show.
_SLACK_FILE_TYPES = ("image/png", "image/jpeg", "image/gif")


class _SharedFilesMixin:
    """Which files a message shows, and whether it may show them."""

    def _record_share(self, channel: str, ts: str, thread_ts: str | None, user: str, file_ids: list[str]) -> None:
        """Note that ``file_ids`` were shared in a message (``shares``/``channels``/``groups``/``ims``)."""
        info = self.channels[channel]
        share = {"ts": ts, "channel_name": info["name"], "team_id": self.team_id, "share_user_id": user,
                 "source": "UNKNOWN", "is_silent_share": False}
        if thread_ts:
            share["thread_ts"] = thread_ts
        kind = "private" if info["is_private"] else "public"
        listing = "ims" if info["is_im"] else "groups" if info["is_private"] else "channels"
        for fid in file_ids:
            rec = self.files.get(fid)
            if rec is None:
                continue
            rec.setdefault("shares", {}).setdefault(kind, {}).setdefault(channel, []).append(dict(share))
            if channel not in rec.setdefault(listing, []):
                rec[listing].append(channel)

    def _slack_file_errors(self, blocks: Any, ptr: str = "/blocks") -> list[str]:
        """Slack's ``invalid slack file`` errors for the ``slack_file`` images of ``blocks`` (image blocks,
        and image elements in context blocks and section accessories)."""
        errs: list[str] = []
        for i, block in enumerate(blocks if isinstance(blocks, list) else []):
            if not isinstance(block, dict):
                continue
            places = [(block, f"{ptr}/{i}")]
            places += [(el, f"{ptr}/{i}/elements/{j}") for j, el in enumerate(block.get("elements") or [])
                       if block.get("type") == "context" and isinstance(el, dict)]
            if isinstance(block.get("accessory"), dict):
                places.append((block["accessory"], f"{ptr}/{i}/accessory"))
            for obj, where in places:
                ref = obj.get("slack_file")
                if obj.get("type") == "image" and isinstance(ref, dict) and not self._slack_file_ok(ref):
                    errs.append(f"invalid slack file [json-pointer:{where}/slack_file]")
        return errs

    def _slack_file_rec(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        """The stored file a ``slack_file`` names (by ``id``, or by ``url``: its url_private or permalink)."""
        with self._lock:
            if ref.get("id"):
                return self.files.get(str(ref["id"]))
            return next((r for r in self.files.values() if ref.get("url") in (r.get("url_private"), r.get("permalink"))), None)

    def _slack_file_ok(self, ref: dict[str, Any]) -> bool:
        with self._lock:
            rec = self._slack_file_rec(ref)
            if rec is None or not rec.get("uploaded") or rec.get("mode") != "hosted" or rec.get("user_team") != self.team_id:
                return False
            if rec.get("user") != self.bot_user_id and not rec.get("shares"):
                return False  # someone else's file the app was never shown
            return rec.get("mimetype") in _SLACK_FILE_TYPES and rec.get("ready_at", 0.0) <= self.clock()

    def _files_linked(self, text: str) -> list[str]:
        """Ids of this team's hosted files whose permalink is in ``text`` (in order, once each)."""
        found: list[str] = []
        for file_id in re.findall(rf"https://{re.escape(self.team_domain)}\.slack\.com/files/[A-Z0-9]+/(F[A-Z0-9]+)", text or ""):
            rec = self.files.get(file_id)
            if rec is not None and rec.get("uploaded") and rec.get("mode") == "hosted" and file_id not in found:
                if rec.get("user") == self.bot_user_id or rec.get("shares"):
                    found.append(file_id)
        return found

    def shown_files(self, message: dict[str, Any]) -> list[str]:
        """Inspection: the ids of the files a message shows: attached, or images of its blocks, in order."""
        ids = [f["id"] for f in message.get("files") or [] if f.get("mode") != "tombstone"]
        for block in message.get("blocks") or []:
            ref = block.get("slack_file") if block.get("type") == "image" else None
            rec = self._slack_file_rec(ref) if isinstance(ref, dict) else None
            if rec is not None and rec["id"] not in ids:
                ids.append(rec["id"])
        return ids
