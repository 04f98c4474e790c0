"""Slack files: uploads (the files_upload_v2 flow, streamed, not shared), deletion, lookups, private downloads.

Mixed into :class:`bridge.slack.gateway.SlackGateway`. The API calls go through the SDK's
WebClient; the upload itself (to the URL ``files.getUploadURLExternal`` returns) and the
``url_private`` download are plain HTTPS requests that stream the body, so a 200 MB video
never sits in a worker's memory (``WebClient.files_upload_v2`` reads whole files).
https://docs.slack.dev/messaging/working-with-files#upload

Both plain requests go only where :class:`bridge.slack.file_hosts.FileHosts` allows (Slack's
own file hosts): the bot token never leaves for a remote file's external URL, and redirects
are followed by hand, each hop checked again, never automatically.
"""
from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urljoin

import requests

from bridge.model import DeliveryFailed, RetryLater
from bridge.slack.file_hosts import FileHosts

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = (10, 120)
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)


class SlackFilesMixin:
    client: Any
    _call: Any
    file_hosts: FileHosts

    def _token(self) -> str:
        return self.client.token or ""

    def upload_unshared(self, files: list[dict]) -> list[str]:
        """Upload ``files`` ({"path", "filename", "title", "alt_txt"?}) without sharing them anywhere
        (``files.completeUploadExternal`` without ``channel_id``: private to the app until a message
        shows them, see :meth:`post_once` with ``slack_file`` image blocks or a permalink); their ids."""
        ids = [self._upload_bytes(f) for f in files]
        self._call("files.completeUploadExternal", self.client.files_completeUploadExternal, files=ids)
        return [i["id"] for i in ids]

    def _upload_bytes(self, f: dict) -> dict[str, str]:
        size = os.path.getsize(f["path"])
        kwargs: dict[str, Any] = {"filename": f["filename"], "length": size}
        if f.get("alt_txt"):
            kwargs["alt_txt"] = f["alt_txt"][:1000]
        got = self._call("files.getUploadURLExternal", self.client.files_getUploadURLExternal, **kwargs)
        self.file_hosts.check(got["upload_url"])  # a friend's file goes to Slack only
        with open(f["path"], "rb") as fh:
            try:
                resp = requests.post(got["upload_url"], data=fh, timeout=UPLOAD_TIMEOUT, allow_redirects=False,
                                     headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
            except requests.RequestException as exc:
                raise RetryLater(f"Slack upload: {type(exc).__name__}", delay=5) from exc
        if resp.status_code == 429:
            raise RetryLater("Slack upload: rate limited", delay=float(resp.headers.get("Retry-After") or 5), throttled=True)
        if resp.status_code >= 500:
            raise RetryLater(f"Slack upload: HTTP {resp.status_code}", delay=5)
        if resp.status_code >= 300:
            raise DeliveryFailed("upload_failed", f"HTTP {resp.status_code}", resp.status_code)
        return {"id": got["file_id"], "title": f.get("title") or f["filename"]}

    def delete_file(self, file_id: str) -> None:
        try:
            self._call("files.delete", self.client.files_delete, file=file_id)
        except DeliveryFailed as exc:
            if exc.reason not in ("file_deleted", "file_not_found"):
                raise

    def file_info(self, file_id: str) -> dict[str, Any]:
        return self._call("files.info", self.client.files_info, file=file_id)["file"]

    def file_share_ts(self, file_id: str, channel: str) -> str:
        """The ts of the message that shared ``file_id`` in ``channel`` ("" if Slack has not listed it yet)."""
        try:
            info = self.file_info(file_id)
        except DeliveryFailed:
            return ""
        for kind in (info.get("shares") or {}).values():
            for share in kind.get(channel) or []:
                return share.get("ts") or ""
        return ""

    def open_private(self, url: str) -> requests.Response:
        """Stream a ``url_private`` file with the bot token (the caller closes the response).

        Only from Slack's own file hosts (:class:`DeliveryFailed` ``file_host_refused`` otherwise,
        before anything is sent); a redirect is followed only to another allowed URL.
        """
        for _hop in range(MAX_REDIRECTS + 1):
            self.file_hosts.check(url)
            try:
                resp = requests.get(url, headers={"Authorization": f"Bearer {self._token()}"}, stream=True,
                                    timeout=(10, 60), allow_redirects=False)
            except requests.RequestException as exc:
                raise RetryLater(f"Slack file download: {type(exc).__name__}", delay=5) from exc
            if resp.status_code in REDIRECTS and resp.headers.get("Location"):
                url = urljoin(url, resp.headers["Location"])
                resp.close()
                continue
            if resp.status_code != 200:
                resp.close()
                if resp.status_code >= 500 or resp.status_code == 429:
                    raise RetryLater(f"Slack file download: HTTP {resp.status_code}", delay=5)
                raise DeliveryFailed("file_unavailable", f"HTTP {resp.status_code}", resp.status_code)
            return resp
        raise DeliveryFailed("file_unavailable", f"more than {MAX_REDIRECTS} redirects")

    def unreact(self, channel: str, ts: str, name: str) -> None:
        """Remove one of the bridge's reactions (already gone is fine)."""
        try:
            self._call("reactions.remove", self.client.reactions_remove, channel=channel, timestamp=ts, name=name)
        except DeliveryFailed as exc:
            if exc.reason != "no_reaction":
                raise
