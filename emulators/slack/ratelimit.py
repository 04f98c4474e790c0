"""Slack-like Web API rate limits (optional, off by default) and rate statistics for benchmarks.

https://docs.slack.dev/apis/web-api/rate-limits :

* ``chat.postMessage``: "1 message per second per channel", short bursts allowed.
* ``chat.update``, ``reactions.add``/``reactions.remove``: Tier 3 ("50+ per minute"), per workspace.
* Beyond the limit: HTTP 429, ``Retry-After: <seconds>`` and ``{"ok": false, "error": "ratelimited"}``.

Each limit is a token bucket (``rate`` tokens per second, at most ``burst`` tokens, starting full).
Times come from :attr:`SlackEmulator.clock` (``time.time`` unless injected), so tests can advance a
fake clock instead of sleeping.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

#: method -> (bucket name, keyed per channel?)
_BUCKET_OF: dict[str, tuple[str, bool]] = {
    "chat.postMessage": ("post_per_channel", True),
    "chat.update": ("update", False),
    "reactions.add": ("reactions", False),
    "reactions.remove": ("reactions", False),
}
#: bucket name -> (rate per second, burst)
DEFAULT_LIMITS: dict[str, tuple[float, float]] = {
    "post_per_channel": (1.0, 5.0),
    "update": (50 / 60, 10.0),
    "reactions": (50 / 60, 10.0),
}


@dataclass
class TokenBucket:
    """``rate`` tokens per second, capped at ``burst``; starts full at ``now``."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> "TokenBucket":
        return cls(rate, burst, burst, now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, now: float) -> float:
        """Take one token; returns 0.0 on success, else the seconds until a token is available."""
        self._refill(now)
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class RateLimitStats:
    """Counters of one method (calls that reached the limiter: authenticated, known method)."""

    allowed: int = 0
    refused: int = 0
    per_channel: dict[str, list[int]] = field(default_factory=dict)  # channel -> [allowed, refused]

    def as_dict(self) -> dict[str, Any]:
        total = self.allowed + self.refused
        out: dict[str, Any] = {"allowed": self.allowed, "refused": self.refused,
                               "refused_pct": round(100.0 * self.refused / total, 2) if total else 0.0}
        if self.per_channel:
            out["per_channel"] = {c: {"allowed": a, "refused": r} for c, (a, r) in self.per_channel.items()}
        return out


class _RateLimitMixin:
    """Mixed into :class:`~emulators.slack.core.SlackEmulator`."""

    _lock: threading.RLock
    clock: Callable[[], float]

    def _reset_rate_limits(self) -> None:
        self._rl_enabled = False
        self._rl_limits: dict[str, tuple[float, float]] = dict(DEFAULT_LIMITS)
        self._rl_buckets: dict[tuple[str, str], TokenBucket] = {}
        self._rl_stats: dict[str, RateLimitStats] = {}
        # (bucket name, key) -> clock times of the calls that reached the limiter
        self._rl_times: dict[tuple[str, str], list[float]] = {}

    def set_rate_limits(
        self,
        post_per_channel: tuple[float, float] | None = None,
        update: tuple[float, float] | None = None,
        reactions: tuple[float, float] | None = None,
        enabled: bool = True,
    ) -> None:
        """Enable (or, ``enabled=False``, disable) Slack-like rate limits; each limit is
        ``(rate_per_second, burst)``; ``None`` keeps the current value (defaults: ``chat.postMessage``
        1/s with a burst of 5 per channel; ``chat.update`` and ``reactions.add``/``remove`` 50/min with
        a burst of 10 per workspace). Changing limits refills the buckets; statistics are kept."""
        with self._lock:
            for name, value in (("post_per_channel", post_per_channel), ("update", update),
                                ("reactions", reactions)):
                if value is not None:
                    rate, burst = float(value[0]), float(value[1])
                    if rate <= 0 or burst < 1:
                        raise ValueError(f"{name}: rate must be > 0 and burst >= 1")
                    self._rl_limits[name] = (rate, burst)
            self._rl_enabled = bool(enabled)
            self._rl_buckets.clear()

    def rate_limits(self) -> dict[str, Any]:
        """The current configuration: ``{"enabled": bool, "<bucket>": {"rate": r, "burst": b}, ...}``."""
        with self._lock:
            out: dict[str, Any] = {"enabled": self._rl_enabled}
            for name, (rate, burst) in self._rl_limits.items():
                out[name] = {"rate": rate, "burst": burst}
            return out

    def rate_stats(self) -> dict[str, dict[str, Any]]:
        """Per method: ``{"allowed": n, "refused": n, "refused_pct": x}`` (plus ``per_channel`` for
        ``chat.postMessage``). Counted whether or not limits are enabled, so a benchmark can compare
        its call rate with :meth:`allowed_capacity`."""
        with self._lock:
            return {m: s.as_dict() for m, s in self._rl_stats.items()}

    def allowed_capacity(self, method: str, channel: str | None = None, since: float | None = None,
                         until: float | None = None) -> int:
        """How many calls the limit of ``method``'s bucket allows in ``[since, until]``:
        ``floor(burst + rate × seconds)``.

        Times are :attr:`clock` times (``time.time()`` by default, like :attr:`RecordedCall.time`).
        ``since``/``until`` default to the first/last call that used the bucket (for that channel).
        For the per-channel ``chat.postMessage`` limit with ``channel=None``, the capacities of all
        channels that were posted to are summed. Methods without a limit: ``ValueError``.
        """
        if method not in _BUCKET_OF:
            raise ValueError(f"{method} has no emulated rate limit")
        bucket, per_channel = _BUCKET_OF[method]
        with self._lock:
            rate, burst = self._rl_limits[bucket]
            if per_channel and channel is None:
                keys = [k for (b, k) in self._rl_times if b == bucket]
            else:
                keys = [channel or ""] if per_channel else [""]
            total = 0
            for key in keys:
                times = self._rl_times.get((bucket, key), [])
                lo = since if since is not None else (times[0] if times else None)
                hi = until if until is not None else (times[-1] if times else None)
                if lo is None or hi is None:
                    continue
                total += math.floor(burst + rate * max(0.0, hi - lo) + 1e-9)
            return total

    def _rate_limit_check(self, method: str, args: dict[str, Any]) -> int | None:
        """Count the call; return ``Retry-After`` seconds if it must be refused (limits enabled)."""
        spec = _BUCKET_OF.get(method)
        if spec is None:
            return None
        bucket, per_channel = spec
        with self._lock:
            key = self._rl_channel_key(args.get("channel")) if per_channel else ""
            now = self.clock()
            self._rl_times.setdefault((bucket, key), []).append(now)
            stats = self._rl_stats.setdefault(method, RateLimitStats())
            counters = stats.per_channel.setdefault(key, [0, 0]) if per_channel else None
            wait = 0.0
            if self._rl_enabled:
                tb = self._rl_buckets.get((bucket, key))
                if tb is None:
                    tb = self._rl_buckets[(bucket, key)] = TokenBucket.full(*self._rl_limits[bucket], now)
                wait = tb.take(now)
            refused = wait > 0
            if refused:
                stats.refused += 1
            else:
                stats.allowed += 1
            if counters is not None:
                counters[1 if refused else 0] += 1
            # Retry-After is whole seconds, rounded up, at least 1.
            return max(1, math.ceil(wait - 1e-9)) if refused else None

    def _rl_channel_key(self, value: Any) -> str:
        """The channel a postMessage targets, resolved without side effects (no DM creation)."""
        if not isinstance(value, str):
            return str(value)
        channels: dict[str, Any] = self.channels  # type: ignore[attr-defined]
        if value in channels:
            return value
        if value[:1] in ("U", "W") and value in self.users:  # type: ignore[attr-defined]
            return "D" + value[1:]
        return self._channel_names.get(value.lstrip("#"), value)  # type: ignore[attr-defined]


def default_clock() -> float:
    return time.time()
