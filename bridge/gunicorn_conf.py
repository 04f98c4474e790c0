"""gunicorn settings of the Procfile's web process (``gunicorn -c python:bridge.gunicorn_conf``).

The configuration is validated once in the master, before any worker is forked: a bad
variable stops the web process with one message naming it. Without this, every worker
exited at import, and gunicorn restarted it forever, printing the same error each second.
The hooks also keep /metrics correct across gunicorn's worker processes (see bridge.metrics).
"""
from __future__ import annotations

import os
import sys
import tempfile


def on_starting(server) -> None:
    from bridge.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
        from bridge.triage.marks import load_marks

        load_marks(settings.config_path)  # a broken BRIDGE_CONFIG names file:line
    except (SettingsError, ValueError) as exc:
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
