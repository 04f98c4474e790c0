"""gunicorn settings of the Procfile's web process (``gunicorn -c python:bridge.gunicorn_conf``).

The configuration is validated once in the master, before any worker is forked: a bad
variable stops the web process with one message naming it. Without this, every worker
exited at import, and gunicorn restarted it forever, printing the same error each second.
The hooks also keep /metrics correct across gunicorn's worker processes (see bridge.metrics).

A ``/media/<token>`` path is a bearer credential for a staff attachment (anyone holding it
can fetch the file until it expires): :class:`RedactingLogger` writes it as
``/media/[redacted]`` in the access log (``--access-logfile``) and in gunicorn's error log; a
``/history/<token>[?q=…]`` link (a personal link to a conversation's history) likewise.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import tempfile

from gunicorn.glogging import Logger

MEDIA_TOKEN = re.compile(r"/media/[^/?#\s\"]+")
# A history page link names the conversation and the person it was made for; its search words
# (``?q=``) are what staff looked for in a friend's messages: the whole path and query go.
HISTORY_PATH = re.compile(r"/history/[^\s\"]+")
SECRET_PATHS = ("/media/", "/history/")


def redact(text: str) -> str:
    return HISTORY_PATH.sub("/history/[redacted]", MEDIA_TOKEN.sub("/media/[redacted]", text))


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(p in message for p in SECRET_PATHS):
            record.msg, record.args = redact(message), None
        return True


class RedactingLogger(Logger):
    """gunicorn's logger with ``/media`` tokens redacted from every access-log atom (request line,
    path, referer, headers, environ) and from error-log messages."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _RedactFilter) for f in self.error_log.filters):
            self.error_log.addFilter(_RedactFilter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        if str(atoms.get("U", "")).startswith("/history/") and atoms.get("q"):
            atoms["q"] = "[redacted]"  # the search words of a history page (the %(q)s atom)
        return {k: redact(v) if isinstance(v, str) and any(p in v for p in SECRET_PATHS) else v for k, v in atoms.items()}


logger_class = RedactingLogger


def on_starting(server) -> None:
    from bridge.settings import Settings, SettingsError

    try:
        Settings.from_env()  # and BRIDGE_CONFIG: a broken file names file:line
    except SettingsError as exc:
        print(f"bridge not started: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    # /metrics sums all web workers (prometheus_client multiprocess mode): the directory must be
    # known before prometheus_client is first imported, and emptied at each start.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="bridge-metrics-")
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def child_exit(server, worker) -> None:
    from bridge import metrics

    metrics.process_exited(worker.pid)
