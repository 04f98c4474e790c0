"""The sandbox page's clock: "now" as the bridge's business hours see it, moved by the page.

The sandbox bridge runs with ``BRIDGE_TEST_CLOCK=1`` (``devtools.stack``): its processes read
"now" from the namespace's clock key when it is set (``bridge.clock``). Moved by ``offset``
seconds, this keeps writing ``time.time() + offset`` there (it ticks, so waits and SLA timers go
on); with no offset the key is removed and the bridge reads the real clock.
"""
from __future__ import annotations

import threading
import time

from bridge.keys import Keys
from bridge.redisconn import connect


class SandboxClock:
    TICK = 0.5  # seconds between writes: the bridge's "now" lags at most this

    def __init__(self, redis_url: str, namespace: str) -> None:
        self.redis = connect(redis_url)
        self.key = Keys(namespace).clock()
        self.offset = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="sandbox-clock", daemon=True).start()

    def now(self) -> float:
        return time.time() + self.offset

    def move(self, offset: float) -> dict:
        with self._lock:
            self.offset = float(offset)
            self._write()
        return {"offset": self.offset}

    def _write(self) -> None:
        if self.offset:
            self.redis.set(self.key, repr(time.time() + self.offset))
        else:
            self.redis.delete(self.key)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            with self._lock:
                if self.offset:
                    try:
                        self._write()
                    except Exception:  # Redis going away at shutdown
                        return
