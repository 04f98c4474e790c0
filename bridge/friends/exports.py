"""The export job: build the CSV and JSON lines files (and the media zip, when asked) from the archive in a
temporary directory, upload them privately to the person who asked."""
from __future__ import annotations

import logging
import os
import tempfile
import time
from typing import Any

from bridge.friends.export import export_to_files
from bridge.i18n import t
from bridge.model import DeliveryFailed
from bridge.services import Component
from bridge.store.listing import workspace_url

log = logging.getLogger(__name__)


class Exports(Component):
    def handle_item(self, payload: dict[str, Any]) -> None:
        """{"export_id", "requester", "conv_id" | "since"/"until" (epoch), "label", "media": bool}."""
        requester = payload["requester"]
        done_key = f"export-{payload['export_id']}"
        if self.store.get_record("slack_post", done_key):
            return  # uploaded already (a retried item)
        archive = workspace_url(self.store)
        label = payload.get("label") or "all"
        with tempfile.TemporaryDirectory(prefix="lsb-export-") as tmp:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            csv_name, json_name = f"line-history-{label}-{stamp}.csv", f"line-history-{label}-{stamp}.jsonl"
            zip_name = f"line-history-{label}-{stamp}-media.zip" if payload.get("media") else ""
            with_media = bool(zip_name) and self.services.archive is not None
            n = export_to_files(self.store, os.path.join(tmp, csv_name), os.path.join(tmp, json_name),
                                conv_id=payload.get("conv_id") or None, since=payload.get("since"), until=payload.get("until"),
                                archive_url=archive, archive=self.services.archive if with_media else None,
                                zip_path=os.path.join(tmp, zip_name) if with_media else "")
            files = [(os.path.join(tmp, csv_name), csv_name), (os.path.join(tmp, json_name), json_name)]
            if with_media:
                files.append((os.path.join(tmp, zip_name), zip_name))
            try:
                self.slack.upload_private(requester, files, t("export.done_media" if with_media else "export.done", self.lang,
                                                              count=f"{n:,}", what=label))
            except DeliveryFailed as exc:
                log.warning("export %s could not be uploaded: %s", payload["export_id"], exc)
                self.slack.post_once(f"export-failed-{payload['export_id']}", requester,
                                     t("export.failed", self.lang, reason=exc.reason))
                return
        self.store.set_record("slack_post", done_key, at=time.time(), rows=n)
