"""rq's settings module for the Procfile's worker (``rq worker -c bridge.rqconfig``).

rq reads the upper-case names of this module: ``REDIS_URL`` for a plain, TLS or socket URL, or
``SENTINEL`` for ``redis+sentinel://`` (rq's ``--url`` has no Sentinel form). Both come from the
bridge's own ``REDIS_URL`` through :func:`bridge.redisconn.rq_settings`, so the worker's rq
connection and the bridge's own connections always point at the same Redis.
"""
from __future__ import annotations

import os
import sys

from bridge.redisconn import parse_sentinel, redacted, rq_settings

_url = (os.environ.get("REDIS_URL") or "").strip()
try:
    if not _url:
        raise ValueError("REDIS_URL is required")
    parse_sentinel(_url)
except ValueError as _exc:  # the same fail-fast message as the worker's own settings check
    print(f"worker not started: {_exc} ({redacted(_url)!r})", file=sys.stderr)
    raise SystemExit(2) from None

globals().update(rq_settings(_url))
