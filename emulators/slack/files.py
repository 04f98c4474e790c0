"""Files: the files_upload_v2 flow (files.getUploadURLExternal, upload URL,
files.completeUploadExternal), files.info, files.delete, ``url_private`` downloads, and
remote files (files.remote.add / files.remote.info).

An upload completed without ``channel_id`` is private to the app until a message shows it: an
``image`` block (or image element) whose ``slack_file`` names it, or its ``permalink`` in the text
of a ``chat.postMessage`` (the message then carries the file, as Slack attaches it). A
``slack_file`` must name an existing, processed png/jpg/gif of this team that the app may
see (its own upload, or one shared somewhere); otherwise ``invalid_blocks`` with ``invalid slack
file``, as Slack answers (also while a fresh upload is still being processed:
``file_processing_seconds`` after ``files.completeUploadExternal``, 0 unless a test sets it).
https://docs.slack.dev/reference/block-kit/composition-objects/slack-file-object

A remote file's object is Slack's: ``mode: "external"``, ``is_external: true``,
``external_type: "app"``, ``size: 0``, ``url_private`` = ``external_url`` (the URL whoever
added it supplied, on any host), ``permalink`` on the workspace; no
``url_private_download``. Its ``mimetype`` follows ``filetype`` when one is given
(``"jpg"`` → ``image/jpeg``), else ``application/vnd.slack-remote`` / ``"remote"``.
https://docs.slack.dev/reference/methods/files.remote.add
"""
from __future__ import annotations

import base64
import copy
import mimetypes
import re
import secrets
import time
from urllib.parse import quote
from typing import TYPE_CHECKING, Any

from flask import Response, request

from emulators.slack.util import (
    _ApiError, _Ctx, _method, _opt_int, _opt_str, _parse_ts_arg, _req, _req_str, _ts_key, rich_text_blocks,
)

if TYPE_CHECKING:
    from emulators.slack.core import SlackEmulator

#: Thumbnail sizes Slack lists for images (``thumb_64`` ... ``thumb_1024``).
_THUMB_SIZES = (64, 80, 160, 360, 480, 720, 800, 960, 1024)
_PRIVATE_KEYS = ("content", "uploaded", "size_mismatch", "redirect", "ready_at")


class _FilesMixin:
    """Mixed into :class:`~emulators.slack.core.SlackEmulator`: stored files and their URLs."""

    #: Seconds a completed upload stays "being processed" (a ``slack_file`` naming it is refused meanwhile).
    file_processing_seconds: float = 0.0

    def add_file(self, content: bytes, name: str, *, title: str | None = None, mimetype: str | None = None,
                 user: str | None = None, host_url: str | None = None) -> dict[str, Any]:
        """Store a file (e.g. one a human "uploaded") and return its Slack file object.

        ``url_private``/``url_private_download`` point at this emulator (``GET /_emulator/files/<id>``,
        which, like Slack, requires ``Authorization: Bearer <bot token>``).
        """
        with self._lock:
            file_id = self._new_id("F")
            base = (host_url or self.url or "http://slack-emulator.invalid").rstrip("/")
            obj = self._file_object(file_id, name, title or name, len(content), user or self.bot_user_id, base,
                                    mimetype=mimetype)
            self.files[file_id] = {**obj, "content": bytes(content), "uploaded": True}
            return copy.deepcopy(obj)

    def add_remote_file(self, external_id: str, external_url: str, title: str, *, filetype: str | None = None,
                        user: str | None = None) -> dict[str, Any]:
        """Register a remote file as ``files.remote.add`` does (an upsert by ``external_id``); its file object."""
        with self._lock:
            for rec in self.files.values():
                if rec.get("mode") == "external" and rec.get("external_id") == external_id:
                    rec.update(title=title, external_url=external_url, url_private=external_url)
                    return _public_file(rec)
            file_id = self._new_id("F")
            owner = user or self.bot_user_id
            name = re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_") or "file"
            if filetype:
                mimetype = mimetypes.guess_type(f"x.{filetype}")[0] or "application/octet-stream"
                pretty = filetype.upper()
            else:
                mimetype, filetype, pretty = "application/vnd.slack-remote", "remote", "Remote"
            now = int(time.time())
            self.files[file_id] = {
                "id": file_id, "created": now, "timestamp": now, "name": name, "title": title,
                "mimetype": mimetype, "filetype": filetype, "pretty_type": pretty, "user": owner,
                "user_team": self.team_id, "editable": False, "size": 0, "mode": "external", "is_external": True,
                "external_type": "app", "is_public": False, "public_url_shared": False, "display_as_bot": False,
                "username": "", "url_private": external_url, "media_display_type": "unknown",
                "permalink": f"https://{self.team_domain}.slack.com/files/{owner}/{file_id}/{name.lower()}",
                "comments_count": 0, "is_starred": False, "shares": {}, "channels": [], "groups": [], "ims": [],
                "has_more_shares": False, "external_id": external_id, "external_url": external_url,
                "has_rich_preview": False, "file_access": "visible", "content": None, "uploaded": True,
            }
            return _public_file(self.files[file_id])

    def redirect_file(self, file_id: str, location: str) -> None:
        """Fault: downloads of ``file_id`` answer ``302 Location: <location>`` (as Slack's file hosts
        redirect, e.g. to a sign-in page), to check a client never follows one off Slack's hosts."""
        with self._lock:
            self.files[file_id]["redirect"] = location

    def file_content(self, file_id: str) -> bytes | None:
        """The bytes of an uploaded file, or None."""
        with self._lock:
            f = self.files.get(file_id)
            return None if f is None else f.get("content")

    def _file_object(self, file_id: str, name: str, title: str, size: int, user: str, base: str,
                     mimetype: str | None = None) -> dict[str, Any]:
        mt = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        return {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": title,
            "mimetype": mt,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/_emulator/files/{file_id}/{name}",
            "url_private_download": f"{base}/_emulator/files/{file_id}/download/{name}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{file_id}-{secrets.token_hex(5)}",
            "has_rich_preview": False,
            "file_access": "visible",
            **self._thumbs(file_id, name, mt, base),
        }

    @staticmethod
    def _thumbs(file_id: str, name: str, mimetype: str, base: str) -> dict[str, str]:
        """Slack adds ``thumb_<size>`` URLs to raster images; ours serve the original bytes."""
        if not mimetype.startswith("image/") or mimetype == "image/svg+xml":
            return {}
        return {f"thumb_{size}": f"{base}/_emulator/files/{file_id}/thumb_{size}/{name}" for size in _THUMB_SIZES}

    def _http_upload(self, file_id: str) -> Response:
        # The files.getUploadURLExternal upload URL: raw bytes or a multipart "file" field.
        data = request.get_data()
        if request.files:
            data = next(iter(request.files.values())).read()
        with self._lock:
            f = self.files.get(file_id)
            if f is None:
                return Response("404 Not Found", status=404, content_type="text/plain")
            f["content"] = data
            f["uploaded"] = True
            if f["size"] != len(data):
                f["size_mismatch"] = (f["size"], len(data))
        return Response(f"OK - {len(data)}", status=200, content_type="text/plain; charset=utf-8")

    def _http_file(self, file_id: str, rest: str) -> Response:
        """``url_private`` / ``url_private_download`` / ``thumb_*`` (all serve the stored bytes).

        Needs ``Authorization: Bearer <bot token>``: 401 without one, 403 with another token.
        (Real Slack answers such fetches with its HTML sign-in page instead.)
        """
        auth = request.headers.get("Authorization", "")
        with self._lock:
            f = self.files.get(file_id)
            self.file_downloads.append({"file": file_id, "path": rest, "authorized": bool(auth)})
            if f is None or not f.get("uploaded") or f.get("mode") == "external":
                return Response("Not Found", status=404, content_type="text/plain")
            if not auth.lower().startswith("bearer ") or not auth[7:].strip():
                return Response("Unauthorized", status=401, content_type="text/plain",
                                headers={"WWW-Authenticate": 'Bearer realm="slack-files"'})
            if auth[7:].strip() != self.bot_token:
                return Response("Forbidden", status=403, content_type="text/plain")
            if f.get("redirect"):
                return Response("Found", status=302, content_type="text/plain", headers={"Location": f["redirect"]})
            headers = {"Content-Length": str(len(f["content"]))}
            if rest.startswith("download/"):
                # RFC 6266/5987: non-ASCII names (日本語.pdf) go in filename*, as Slack sends them
                ascii_name = f["name"].encode("ascii", "replace").decode().replace('"', "_")
                headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                                  f"filename*=UTF-8''{quote(f['name'], safe='')}")
            return Response(f["content"], status=200, content_type=f["mimetype"], headers=headers)

    def file_info(self, file_id: str) -> dict[str, Any] | None:
        """The Slack file object of a stored (uploaded, not deleted) file, as ``files.info`` returns it."""
        with self._lock:
            rec = self.files.get(file_id)
            if rec is None or not rec.get("uploaded"):
                return None
            return _public_file(rec)

    def _resolve_file(self, f: Any) -> Any:
        """A file id (``"F…"``) or ``{"id": "F…"}`` becomes the stored file's full Slack file object."""
        file_id = f if isinstance(f, str) else f.get("id") if isinstance(f, dict) and set(f) == {"id"} else None
        if file_id is None:
            return f
        info = self.file_info(file_id)
        if info is None:
            raise KeyError(f"unknown file {file_id}")
        return info

    def _http_file_info(self, file_id: str) -> Response:
        info = self.file_info(file_id)
        return self._json({"ok": info is not None, "file": info}, 200 if info is not None else 404)

    def _http_add_file(self) -> Response:
        # JSON {name, content_b64, title?, mimetype?, user?} -> the Slack file object.
        body = request.get_json(force=True)
        obj = self.add_file(base64.b64decode(body.get("content_b64", "")), body["name"], title=body.get("title"),
                            mimetype=body.get("mimetype"), user=body.get("user"),
                            host_url=request.host_url.rstrip("/"))
        return self._json({"ok": True, "file": obj})


# ------------------------------------------------------------------ files (files_upload_v2 flow)
@_method("files.getUploadURLExternal", "files:write")
def _files_get_upload_url(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    filename = _req_str(args, "filename")
    length = _opt_int(args, "length", -1)
    if length <= 0:
        raise _ApiError("invalid_arguments", "[ERROR] length must be a positive integer")
    if length > 1024 * 1024 * 1024:
        raise _ApiError("file_too_large")
    file_id = emu._new_id("F")
    obj = emu._file_object(file_id, filename, filename, length, emu.bot_user_id, ctx.host_url)
    if args.get("alt_txt"):
        obj["alt_txt"] = args["alt_txt"]
    emu.files[file_id] = {**obj, "content": b"", "uploaded": False}
    # Real upload URLs look like https://files.slack.com/upload/v1/<opaque>; ours is local.
    return {"upload_url": f"{ctx.host_url}/_emulator/upload/{file_id}", "file_id": file_id}


@_method("files.completeUploadExternal", "files:write")
def _files_complete_upload(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    files = _req(args, "files")
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
        raise _ApiError("invalid_arguments", "[ERROR] files must be a non-empty array of {id, title}")
    channel_id = _opt_str(args, "channel_id")
    channels_arg = _opt_str(args, "channels")
    thread_ts = _parse_ts_arg(args, "thread_ts")
    targets = [emu._resolve_channel(channel_id)] if channel_id else []
    if channels_arg:
        targets += [emu._resolve_channel(c.strip()) for c in channels_arg.split(",") if c.strip()]
    if thread_ts and not targets:
        raise _ApiError("invalid_arguments", "[ERROR] thread_ts requires channel_id")
    stored_files = []
    for f in files:
        rec = emu.files.get(str(f["id"]))
        if rec is None or not rec.get("uploaded"):
            raise _ApiError("file_not_found", f"[ERROR] file {f['id']} was not uploaded")
        if "size_mismatch" in rec:
            ctx.notes.append(f"warning: file {f['id']} declared length {rec['size_mismatch'][0]} "
                             f"but {rec['size_mismatch'][1]} bytes were uploaded")
            rec["size"] = rec["size_mismatch"][1]
        if f.get("title"):
            rec["title"] = str(f["title"])
        rec["ready_at"] = emu.clock() + emu.file_processing_seconds  # Slack processes an upload before showing it
        stored_files.append(rec)
    public_files = [_public_file(rec) for rec in stored_files]
    comment = _opt_str(args, "initial_comment") or ""
    for channel in targets:
        msg = emu._bot_message(args, comment)
        msg.update({"files": copy.deepcopy(public_files), "upload": True, "display_as_bot": False})
        if comment:
            msg["blocks"] = rich_text_blocks(comment)
        stored, notes = emu._store_message(channel, msg, thread_ts=thread_ts)
        ctx.notes.extend(notes)
        emu._record_share(channel, stored["ts"], thread_ts, emu.bot_user_id, [rec["id"] for rec in stored_files])
    return {"files": [{"id": rec["id"], "title": rec["title"]} for rec in stored_files]}


@_method("files.info", "files:read")
def _files_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    file_id = _req_str(args, "file")
    if file_id in emu._deleted_files:
        raise _ApiError("file_deleted")
    rec = emu.files.get(file_id)
    if rec is None or not rec.get("uploaded"):
        raise _ApiError("file_not_found")
    return {"file": _public_file(rec)}


@_method("files.remote.add", "remote_files:write")
def _files_remote_add(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    external_id, external_url, title = (_req_str(args, k) for k in ("external_id", "external_url", "title"))
    if len(external_id) > 255:
        raise _ApiError("invalid_external_id")
    if len(title) > 255:
        raise _ApiError("bad_title")
    return {"file": emu.add_remote_file(external_id, external_url, title, filetype=_opt_str(args, "filetype"))}


@_method("files.remote.info", "remote_files:read")
def _files_remote_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    file_id, external_id = _opt_str(args, "file"), _opt_str(args, "external_id")
    for rec in emu.files.values():
        if rec.get("mode") == "external" and (rec["id"] == file_id or (external_id and rec["external_id"] == external_id)):
            return {"file": _public_file(rec)}
    raise _ApiError("file_not_found")


@_method("files.delete", "files:write")
def _files_delete(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    """https://docs.slack.dev/reference/methods/files.delete : a bot deletes only files it uploaded.

    Messages that shared the file keep a ``{"id": ..., "mode": "tombstone"}`` entry in ``files``,
    as Slack shows a deleted file.
    """
    file_id = _req_str(args, "file")
    if file_id in emu._deleted_files:
        raise _ApiError("file_deleted")
    rec = emu.files.get(file_id)
    if rec is None or not rec.get("uploaded"):
        raise _ApiError("file_not_found")
    if rec.get("user") != emu.bot_user_id:
        raise _ApiError("cant_delete_file")
    for kind in rec.get("shares", {}).values():
        for channel, shares in kind.items():
            for share in shares:
                msg = emu._msgs.get(channel, {}).get(_ts_key(share["ts"]))
                if msg is not None and isinstance(msg.get("files"), list):
                    msg["files"] = [{"id": file_id, "mode": "tombstone"} if f.get("id") == file_id else f
                                    for f in msg["files"]]
    del emu.files[file_id]
    emu._deleted_files.add(file_id)
    return {}


def _public_file(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in rec.items() if k not in _PRIVATE_KEYS}
