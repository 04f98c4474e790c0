"""``GET /metrics``: the bridge's health in Prometheus' text format (prometheus_client).

Three sources, merged into one answer by the web process:

* **Web (gunicorn) processes** — webhook latency and accepted/refused events — use
  prometheus_client's own metrics. Under gunicorn they run in multiprocess mode
  (``PROMETHEUS_MULTIPROC_DIR``, set up by :mod:`bridge.gunicorn_conf`), so every scrape
  sums all web workers.
* **Worker (rq) processes** run each job in a short-lived forked child; multiprocess
  files per child pid would pile up by thousands. Their counters (deliveries by kind and
  outcome, rate-limit waits, dead letters) are small ``HINCRBYFLOAT`` s on one Redis hash,
  so they are also correct across hosts (web and worker on different machines).
* **Scrape-time gauges** read Redis: queue depth and age of the oldest pending item per
  direction, rq queue lengths, dead letters kept; and LINE's quota consumption per
  account (``GET /v2/bot/message/quota/consumption``, cached 5 minutes).

Hooks for other modules: :func:`observe_webhook`, :func:`count`, :func:`rate_limit_wait`.

Every label set is bounded: label values come from small vocabularies (work kinds,
outcomes, account keys, API method names). :func:`label` strips anything id-like or
URL-like a caller might pass (a LINE message id, a user id, a target URL), and a scrape
shows at most ``MAX_SERIES`` series per counter, so no input can grow the answer without
limit. ``GET /metrics`` itself is protected (see :mod:`handlers.app`).
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from typing import Any, Iterable

log = logging.getLogger(__name__)

QUOTA_CACHE_SECONDS = 300
DIRECTIONS = {"line": "line_to_slack", "slack": "slack_to_line", "fwd": "forward"}
MAX_SERIES = 200  # per counter family, at each scrape
_redis: Any = None  # (redis client, Keys) of this process, set by bind()
_web: dict[str, Any] = {}
_web_lock = threading.Lock()


def bind(redis_client, keys) -> None:
    """Where this process records worker-side counters (called by the runtime)."""
    global _redis
    _redis = (redis_client, keys)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
_ID_LIKE = re.compile(r"\S*(?:\d{4,}|[0-9a-fA-F]{16,})\S*")  # message/user ids, timestamps, ports, hashes
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/ -]+")


def label(value: Any) -> str:
    """A label value from a bounded vocabulary: no URL, no id-like word (4+ digits, long hex), at
    most 40 characters, nothing that would confuse the ``|``/``=`` field encoding."""
    text = _URL.sub("", str(value))
    text = _ID_LIKE.sub("", text)
    text = _UNSAFE.sub("", text)
    return " ".join(text.split())[:40] or "other"


# -- hooks ------------------------------------------------------------------------------------
def count(name: str, amount: float = 1.0, **labels: str) -> None:
    """Add to a worker-side counter ``bridge_<name>_total`` (never raises: metrics must not break work)."""
    if _redis is None:
        return
    r, keys = _redis
    field = "|".join([name] + [f"{k}={label(v)}" for k, v in sorted(labels.items())])
    try:
        r.hincrbyfloat(keys.metrics(), field, amount)
    except Exception:  # noqa: BLE001
        log.debug("metric %s not recorded", name, exc_info=True)


def rate_limit_wait(method: str, seconds: float) -> None:
    """A platform asked us to wait (429 / Retry-After) ``seconds`` before calling ``method`` again.

    ``method`` is the start of a retry reason ("Slack chat.postMessage", "LINE content 5489… is
    still processing"): only its first two id-free words are kept."""
    method = " ".join(label(method).split()[:2])
    count("rate_limit_waits", 1, method=method)
    count("rate_limit_wait_seconds", max(0.0, float(seconds)), method=method)


def delivery(kind: str, outcome: str) -> None:
    """A work item was processed: ``outcome`` is ok, retry, throttled, failed or malformed."""
    count("deliveries", 1, kind=kind, outcome=outcome)


def dead_letter(kind: str) -> None:
    count("dead_letters", 1, kind=kind)


def _web_metrics() -> dict[str, Any]:
    with _web_lock:  # gunicorn runs several request threads per worker
        if not _web:
            _create_web_metrics()
        return _web


def _create_web_metrics() -> None:
    from prometheus_client import Counter, Histogram

    _web["latency"] = Histogram("bridge_webhook_seconds", "Time to answer a webhook request", ["source"],
                                buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10))
    _web["events"] = Counter("bridge_webhook_events", "Webhook events by outcome", ["source", "outcome"])


def observe_webhook(source: str, seconds: float, accepted: int = 0, duplicates: int = 0, refused: int = 0,
                    too_old: int = 0) -> None:
    """Web side: one webhook request of ``source`` (line, slack) answered in ``seconds``."""
    try:
        m = _web_metrics()
        m["latency"].labels(source).observe(seconds)
        for outcome, n in (("accepted", accepted), ("duplicate", duplicates), ("refused", refused), ("too_old", too_old)):
            if n:
                m["events"].labels(source, outcome).inc(n)
    except Exception:  # noqa: BLE001 - metrics must never fail a webhook
        log.warning("webhook metrics not recorded", exc_info=True)


# -- gunicorn multiprocess -----------------------------------------------------------------------
def process_exited(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# -- exposition ---------------------------------------------------------------------------------
class RedisCollector:
    """Worker-side counters and scrape-time gauges, read from Redis at each scrape."""

    def __init__(self, rt):
        self.rt = rt

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        r, keys = self.rt.redis, self.rt.keys
        families: dict[str, Any] = {}
        series: dict[str, int] = {}
        for field, value in sorted((r.hgetall(keys.metrics()) or {}).items()):
            name, *pairs = field.split("|")
            labels = dict(p.split("=", 1) for p in pairs if "=" in p)
            series[name] = series.get(name, 0) + 1
            if series[name] > MAX_SERIES:  # recorded before labels were bounded: never let a scrape grow
                continue
            fam = families.get(name)
            if fam is None:
                fam = families[name] = CounterMetricFamily(f"bridge_{name}", f"bridge {name.replace('_', ' ')}",
                                                           labels=sorted(labels))
            fam.add_metric([labels[k] for k in sorted(labels)], float(value))
        yield from families.values()

        depth = GaugeMetricFamily("bridge_queue_depth", "Work items waiting, per direction", labels=["direction"])
        oldest = GaugeMetricFamily("bridge_queue_oldest_age_seconds", "Age of the oldest waiting item, per direction",
                                   labels=["direction"])
        totals = {d: 0 for d in DIRECTIONS.values()}
        ages = {d: 0.0 for d in DIRECTIONS.values()}
        now = time.time()
        prefix = keys.inbox(stream="")
        for key in r.scan_iter(match=prefix + "*", count=1000):
            direction = DIRECTIONS.get(key[len(prefix):].split("-", 1)[0], "other")
            pipe = r.pipeline(transaction=False)
            pipe.llen(key)
            pipe.lindex(key, 0)
            n, head = pipe.execute()
            totals[direction] = totals.get(direction, 0) + int(n or 0)
            try:
                accepted_at = float(json.loads(head).get("accepted_at") or now) if head else now
            except (ValueError, AttributeError):
                accepted_at = now
            ages[direction] = max(ages.get(direction, 0.0), now - accepted_at)
        for direction in totals:
            depth.add_metric([direction], totals[direction])
            oldest.add_metric([direction], round(ages[direction], 3))
        yield depth
        yield oldest
        yield GaugeMetricFamily("bridge_dead_letters_kept", "Dead letters kept for inspection (python -m bridge.admin)",
                                value=r.llen(keys.dead_letters()))
        jobs = GaugeMetricFamily("bridge_rq_jobs_queued", "rq jobs waiting", labels=["queue"])
        for q in (self.rt.queue, self.rt.low_queue):
            jobs.add_metric([q.name], len(q))
        yield jobs
        quota = GaugeMetricFamily("bridge_line_quota_used", "LINE messages counted against this month's quota",
                                  labels=["account"])
        for account in self.rt.accounts:
            used = self._quota_used(account.key)
            if used is not None:
                quota.add_metric([account.key], used)
        yield quota
        from bridge.archive.health import describe

        state = describe(self.rt.store)
        yield GaugeMetricFamily("bridge_archive_failing", "1 while the media archive refuses writes (python -m bridge.doctor)",
                                value=1 if state["failing"] else 0)
        yield GaugeMetricFamily("bridge_archive_pending_files", "Media spooled and not yet in the archive (all hosts)",
                                value=state["pending"])

    def _quota_used(self, account: str) -> float | None:
        key = self.rt.keys.metrics_quota(account=account)
        cached = self.rt.redis.get(key)
        if cached is not None:
            return float(cached)
        try:
            used = self.rt.lines.of(account).quota_used()
        except Exception as exc:  # noqa: BLE001 - LINE unreachable: leave the gauge out this time
            log.warning("LINE quota of %s not read: %s", account, exc)
            return None
        self.rt.redis.set(key, used, ex=QUOTA_CACHE_SECONDS)
        return float(used)


def exposition(rt) -> tuple[bytes, str]:
    """The body and content type of ``GET /metrics``."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    _web_metrics()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    combined = CollectorRegistry()
    combined.register(_Wrap(registry))
    combined.register(RedisCollector(rt))
    return generate_latest(combined), CONTENT_TYPE_LATEST


class _Wrap:
    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()
