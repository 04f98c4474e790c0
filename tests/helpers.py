"""Helpers shared by the test modules (the fixtures themselves are in tests/conftest.py).

* :class:`InProcess` (the ``ip`` fixture): the domain driven in this process, as a worker drives it.
* :func:`open_thread`: a friend opens a conversation; its Slack thread, once the bridge recorded it.
* :class:`WorkerPool`: rq workers started exactly as the Procfile starts them, killable.
* :func:`own_deployment`: a test module's own bridge (web app + rq workers), on the session's
  Redis or a private one, for tests that need a deployment configured differently or that crash it.
* :func:`run_log`: where a test writes the log of a process it starts (one directory per
  pytest-xdist worker, so parallel sessions never write the same file).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import redis

from bridge.keys import Keys
from bridge.settings import Settings
from bridge.store import Store
from devtools.devredis import PrivateRedis
from emulators.server import RunningServer, serve_in_thread
from emulators.line_webhooks import WebhookFactory
from tests.conftest import (HANAKO, ROOT, STAFF, TRIAGE, cid, private_redis, ready_app, relayed_texts, run_log, shown_texts,
                           wait_until)

__all__ = ["InProcess", "open_thread", "WorkerPool", "Deployment", "own_deployment", "private_redis", "run_log", "descendants"]


def open_thread(h, user: str = HANAKO, text: str = "こんにちは", *, then: str | None = None,
                timeout: float = 10.0) -> str:
    """``user`` writes ``text``; returns the conversation's Slack thread once the bridge recorded it.

    A new conversation's first message is the thread's parent (one post per new conversation):
    this waits until that parent is in Slack and the bridge knows which Slack message shows the
    friend's message. With ``then``, the friend writes that too and it waits until it is in the
    thread (a thread holding one friend message, e.g. to react to or to answer)."""
    event = h.friend_says(user, text)
    thread = h.thread_of(user, timeout=timeout)
    line_id = event["message"]["id"]
    assert wait_until(lambda: text in shown_texts(h.slack, thread)
                      and h.store.get_slack_message(TRIAGE, thread)
                      and h.store.get_line_message("default", line_id).get("slack_ts") == thread, timeout), \
        f"the first message of {user} is not shown and recorded as its thread's parent"
    if then is not None:
        h.friend_says(user, then)
        assert wait_until(lambda: then in relayed_texts(h.thread_messages(thread)), timeout), \
            f"{then!r} did not reach the thread"
    return thread


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (the rq work horse, rq's scheduler process)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


class WorkerPool:
    """rq workers started exactly as the Procfile does, each in its own session, killable.

    Worker ``n`` (from 0, counting restarts) logs to ``run_log(f"{log_name}-worker-{n}.log")``."""

    def __init__(self, env: dict[str, str], log_name: str = "recovery"):
        self.env = env
        self.log_name = log_name
        self.namespace = env["BRIDGE_NAMESPACE"]
        self.procs: dict[str, subprocess.Popen] = {}
        self.generation = 0
        self.r = redis.Redis.from_url(env["REDIS_URL"])

    def start(self, count: int = 1) -> str:
        """Start ``count`` workers (at the same time); returns the last one's name once all registered."""
        names = [self._spawn() for _ in range(count)]
        for name in names:
            assert wait_until(lambda: f"rq:worker:{name}".encode() in self.r.smembers("rq:workers")
                              or self.procs[name].poll() is not None, timeout=60)
            assert self.procs[name].poll() is None, f"the worker {name} exited at start-up; see {run_log('')}"
        return names[-1]

    def _spawn(self) -> str:
        name = f"{self.namespace}-g{self.generation + 1}"
        log = open(run_log(f"{self.log_name}-worker-{self.generation}.log"), "w")
        self.generation += 1
        env = {**os.environ, **self.env, "LOG_LEVEL": self.env.get("LOG_LEVEL") or "INFO", "PYTHONUNBUFFERED": "1"}
        self.procs[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler", "--worker-class",
             "bridge.worker.BridgeWorker", "--serializer", "json", "--url", self.env["REDIS_URL"], "--name", name,
             self.namespace, self.namespace + "-low"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return name

    def keep(self, count: int) -> None:
        """What a process manager does: restart the workers that exited, up to ``count``."""
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                del self.procs[name]
        if len(self.procs) < count:
            self.start(count - len(self.procs))

    def name_of_pid(self, pid: int) -> str:
        """The worker whose process is ``pid`` or an ancestor of it."""
        while pid > 1:
            for name, proc in self.procs.items():
                if proc.pid == pid:
                    return name
            pid = parent_of(pid)
        raise LookupError("not one of our workers")

    def kill(self, name: str) -> None:
        """SIGKILL the worker and everything it forked (its work horse runs in its own process group)."""
        proc = self.procs.pop(name)
        for pid in [proc.pid, *descendants(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()


class Deployment:
    """A bridge deployment of a test module's own: the web app (Flask + bolt) served on a loopback
    port by a real HTTP server, and rq workers as the Procfile starts them."""

    def __init__(self, env: dict[str, str], server: RunningServer, pool: WorkerPool,
                 redis_server: PrivateRedis | None):
        self.env = env
        self.settings = Settings.from_env(env)
        self.server = server
        self.url = server.url
        self.pool = pool
        self.redis_server = redis_server

    def fresh_store(self) -> Store:
        """The deployment's store, its namespace emptied (what a test starts from)."""
        store = Store(redis.Redis.from_url(self.settings.redis_url, decode_responses=True), Keys(self.settings.namespace))
        store.delete_namespace()
        return store


@contextmanager
def own_deployment(base_env: dict[str, str], name: str, *, workers: int = 2, redis_server: str | None = None,
                   drop: tuple[str, ...] = (), **overrides: str) -> Iterator[Deployment]:
    """``base_env`` (the session's bridge_env) with ``overrides``, in a fresh namespace ``lsb<name>…``.

    ``redis_server``: None = the session's Redis; "private" = a throw-away redis-server of its own;
    "aof" = one with the append-only file on (``appendfsync always``), for tests that crash it."""

    server_redis = private_redis(persistent=redis_server == "aof") if redis_server else None
    env = {k: v for k, v in base_env.items() if k not in drop}
    env.update(BRIDGE_NAMESPACE=f"lsb{name}" + uuid.uuid4().hex[:8], **overrides)
    if server_redis is not None:
        env["REDIS_URL"] = server_redis.url
    pool = WorkerPool(env, log_name=name)
    server = serve_in_thread(ready_app(Settings.from_env(env)))
    try:
        if workers:
            pool.start(workers)
        yield Deployment(env, server, pool, server_redis)
    finally:
        pool.stop_all()
        server.stop()
        if server_redis is not None:
            server_redis.stop()


class ProcfileWeb:
    """The Procfile's web process (gunicorn, the production config) on a free port; ``output`` is
    everything it wrote (the access log included) once it stopped."""

    def __init__(self, base: str):
        self.base = base
        self.output = ""


@contextmanager
def procfile_web(bridge_env: dict[str, str]) -> Iterator[ProcfileWeb]:
    import socket

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = next(line.split(":", 1)[1].strip() for line in (ROOT / "Procfile").read_text().splitlines()
               if line.startswith("web:"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SLACK_", "BRIDGE_", "PROMETHEUS_"))}
    env.update(bridge_env, PORT=str(port), WEB_CONCURRENCY="1",
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    proc = subprocess.Popen(["bash", "-c", "exec " + web], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    running = ProcfileWeb(f"http://127.0.0.1:{port}")

    def up() -> bool:
        try:
            return requests.get(running.base + "/healthz", timeout=10).status_code in (200, 503)
        except requests.RequestException:
            return False

    try:
        assert wait_until(up, timeout=60)
        yield running
    finally:
        proc.terminate()
        running.output, _ = proc.communicate(timeout=30)


class RecordingQueue:
    """bridge.ports.WorkQueue that keeps what the domain queues (the test runs it when it chooses)."""

    def __init__(self):
        self.now: list[tuple] = []
        self.later: list[tuple] = []

    def accept(self, origin, event_id, stream, kind, payload) -> bool:
        self.now.append((origin, event_id, stream, kind, payload))
        return True

    def accept_later(self, delay, origin, event_id, stream, kind, payload) -> None:
        self.later.append((delay, origin, event_id, stream, kind, payload))


class InlineRefreshes:
    """The parent refresh "queue" of in-process use: the refresh runs at once (bridge.ports.RefreshQueue)."""

    def __init__(self):
        self.domain = None

    def schedule_refresh(self, conv_id: str, delay: float) -> None:
        self.domain.portals.run_parent_refresh(conv_id)


def in_process_domain(rt, queue=None):
    """The domain of ``rt``, parents refreshed inline; without a ``queue`` (bridge.ports.WorkQueue) marks
    are added inline and replies sent at once."""
    from bridge.domain import Domain
    from bridge.line.forward_client import ForwardClient
    from bridge.services import Services

    services = Services(rt.settings, rt.accounts, rt.store, rt.slack, rt.lines, rt.marks, rt.backlog,
                        rt.stores, crm=rt.crm, archive=rt.archive, media_cache=rt.media_cache)
    refreshes = InlineRefreshes()
    refreshes.domain = Domain(services, refreshes, queue, ForwardClient(), automation=rt.automation)
    return refreshes.domain


class InProcess:
    """The domain with its real store and gateways (pointed at the emulators), no web tier, no workers.

    Each work item, shaped as the inbox stores it, goes through the route an rq worker's drain
    takes (:meth:`bridge.domain.Domain.process_head`, the inbox's batch hook), one item at a
    time; parent refreshes run inline: fast behaviour tests of the relay and triage. Ordering,
    idempotency under crashes and the Procfile are proven by the end-to-end tests.
    """

    def __init__(self, settings, line_emu, slack_emu):
        from dataclasses import replace

        from bridge.engine import work
        from bridge.runtime import Runtime

        self.work = work
        # No pacing: in process there is no drain to come back for a Slack turn (RetryLater would be lost).
        self.rt = Runtime(replace(settings, namespace=settings.namespace + "ip", slack_rate_limits=None))
        self.rt.store.delete_namespace()
        self.domain = in_process_domain(self.rt)  # parents refreshed, 🆓/🔢/❌ added, replies sent inline
        self.store = self.rt.store
        self.line = line_emu
        self.slack = slack_emu
        self.webhooks = WebhookFactory(line_emu)
        self._n = 0

    def process(self, kind: str, payload: dict, origin: str = "ip") -> None:
        """Process one work item as a worker's drain does (the JSON the inbox holds, the batch hook)."""
        self._n += 1
        item = json.loads(json.dumps({"id": f"{origin}:{self._n}", "stream": "ip", "kind": kind, "payload": payload,
                                      "accepted_at": time.time()}, ensure_ascii=False))
        assert self.domain.process_head([item]) == 1

    def line_event(self, event: dict) -> None:
        self.process(self.work.LINE_EVENT, {"account": "default", "event": event}, origin="line")

    def friend_says(self, user_id: str, text: str, **kw) -> dict:
        event = self.webhooks.text(user_id, text, **kw)
        self.line_event(event)
        return event

    def staff_says(self, thread_ts: str, text: str, user: str = STAFF) -> dict:
        message = self.slack.add_user_message(TRIAGE, user, text, thread_ts=thread_ts)
        self.process(self.work.SLACK_MESSAGE, {
            "channel": TRIAGE, "ts": message["ts"], "thread_ts": thread_ts, "user": user, "text": text}, origin="slack")
        return message

    def op(self, conv_id: str, action: str, value: str = "", actor: str = STAFF) -> None:
        self.process(self.work.SLACK_OP, {
            "op_id": f"ip{self._n + 1}", "conv_id": conv_id, "actor": actor, "action": action, "value": value,
            "source": "button", "channel": TRIAGE}, origin="op")

    def conv(self, line_id: str):
        return self.store.get_conversation(cid(line_id))


def seed_old_conversations(r: redis.Redis, keys: Keys, count: int, *, channel: str = TRIAGE, chunk: int = 1000,
                           marks=None) -> list[dict]:
    """``count`` resolved 1:1 conversations as a namespace from before the archive and /friend holds
    them (what the start-up backfills are for): a conversation hash with a thread, two transcript
    entries without ids (a friend's message, a staff reply), an internal note only in the old
    ``notes:`` list, no ``history_since``, no name index, neither backfill marked done. The layout
    migration (v1 → v2) and the /pending indexes are up to date, as in a deployment that ran an
    older version. Pipelined (100,000 take seconds). Returns ``{"line_id", "conv_id", "name", "number"}`` each."""
    from bridge.migrate import NAME
    from bridge.model import Conversation, conv_key

    base = time.time() - 90 * 86400
    out = []
    for start in range(0, count, chunk):
        pipe = r.pipeline(transaction=False)
        for i in range(start, min(count, start + chunk)):
            line_id = "U" + uuid.uuid5(uuid.NAMESPACE_OID, f"old-friend-{i}").hex
            conv_id, number, name, at = conv_key("default", line_id), i + 1, f"旧友 {i + 1:05d}", base + i
            thread_ts = f"{at:.6f}"
            conv = Conversation(conv_id=conv_id, source_type="user", number=number, line_id=line_id, name=name,
                                channel=channel, thread_ts=thread_ts, mark="resolved", created_at=at,
                                last_message_at=at + 60)
            pipe.hset(keys.conv(conv_id=conv_id), mapping=conv.to_hash())
            pipe.hset(keys.conv_by_number(), str(number), conv_id)
            pipe.set(keys.conv_by_thread(channel=channel, ts=thread_ts), conv_id)
            for entry in ({"t": at, "dir": "in", "author": line_id, "name": name, "kind": "text",
                           "text": f"昔の質問 {number}", "line_message_id": f"7{number:09d}", "slack_ts": f"{at + 1:.6f}"},
                          {"t": at + 60, "dir": "out", "author": STAFF, "name": "佐藤", "kind": "text",
                           "text": f"昔の答え {number}", "line_message_id": "", "slack_ts": f"{at + 60:.6f}"}):
                pipe.zadd(keys.transcript(conv_id=conv_id), {json.dumps(entry, ensure_ascii=False, sort_keys=True): entry["t"]})
            pipe.rpush(keys.notes(conv_id=conv_id), json.dumps({"author": STAFF, "text": f"// 昔のメモ {number}",
                                                                "ts": f"{at + 30:.6f}", "at": at + 30}, ensure_ascii=False))
            out.append({"line_id": line_id, "conv_id": conv_id, "name": name, "number": number})
        pipe.execute()
    r.set(keys.conv_counter(), count)
    r.set(keys.migration(name=NAME), "done")
    r.delete(keys.migration(name="archive-v1"), keys.migration(name="friend-names"))
    if marks is not None:   # the /pending indexes built for this mark order (a deployment that ran before)
        from bridge.store.backlog import Backlog

        Backlog(r, keys, marks, ["default"]).rebuild()
    return out
