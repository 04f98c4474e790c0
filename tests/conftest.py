"""Test harness: real Redis, real rq workers, the real HTTP stack, the emulators.

* Redis: ``REDIS_URL`` when set (a free DB on that server is claimed for the run and
  flushed afterwards), otherwise a private ``redis-server`` started here.
* The LINE and Slack emulators run on loopback ports in this process.
* The bridge's Flask app (bolt included) is served on a loopback port by a real HTTP server.
* Two ``rq worker --with-scheduler`` subprocesses run the jobs, as in production.
* Under pytest-xdist (./scripts/test) every worker process has all of the above of its own and
  writes the logs of the processes it starts to ``.run/<worker>/`` (:func:`run_log`).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import redis

from devtools.devredis import PrivateRedis
from bridge.keys import Keys
from bridge.model import conv_key
from bridge.settings import Settings
from bridge.store import Store
from emulators.line_api import LineEmulator
from emulators.line_webhooks import WebhookFactory, send_webhook
from emulators.server import serve_in_thread
from emulators.slack_api import SlackEmulator
from emulators.slack_events import SlackEventSender

ROOT = Path(__file__).resolve().parents[1]
LINE_SECRET = "test-line-secret"
LINE_TOKEN = "test-line-token"
SLACK_TOKEN = "xoxb-test"
SLACK_SECRET = "test-signing-secret"
TRIAGE = "CTRIAGE01"
STAFF = "USTAFF01"
STAFF2 = "USTAFF02"
WORKERS = int(os.environ.get("TEST_WORKERS", "2"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Captured output as valid UTF-8: the fuzz tests log lone surrogates, and pytest-xdist cannot
    send a report holding one from its worker process (the whole run would stop)."""
    report = yield
    report.sections = [(title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
                       for title, text in report.sections]
    return report


def _claim_db(url: str) -> tuple[str, int]:
    """On a shared server, pick an empty DB (1..15) and mark it ours for this run."""
    parsed = urlparse(url)
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(urlunparse(parsed._replace(path=f"/{db}")))
        try:
            if client.dbsize() == 0 and client.set("lsb-test-run-claim", str(os.getpid()), nx=True):
                return urlunparse(parsed._replace(path=f"/{db}")), db
        finally:
            client.close()
    raise RuntimeError("no empty Redis DB (1..15) available for the test run")


def private_redis(persistent: bool = False) -> PrivateRedis:
    """A private redis-server; tried again on another port if the free port it picked was taken
    meanwhile (parallel test sessions, pytest-xdist workers, pick ports at the same time)."""
    for attempt in range(3):
        try:
            return PrivateRedis(persistent=persistent)
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def run_log(name: str) -> Path:
    """Where a test writes the log of a process it starts: ``.run/``, or ``.run/<worker>/`` under
    pytest-xdist, so parallel sessions never write the same file."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    logdir = ROOT / ".run" / worker if worker else ROOT / ".run"
    logdir.mkdir(parents=True, exist_ok=True)
    return logdir / name


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("REDIS_URL"):
        url, _ = _claim_db(os.environ["REDIS_URL"])
        yield url
        redis.Redis.from_url(url).flushdb()
    else:
        server = private_redis()
        yield server.url
        server.stop()


@pytest.fixture(scope="session")
def line_emu():
    emu = LineEmulator(channel_access_token=LINE_TOKEN, channel_secret=LINE_SECRET)
    # The tests must check what the bridge sends: against LINE's OpenAPI spec (../shared/specs/line,
    # or $LINE_SPECS_DIR) when present, else against the line-bot-sdk's generated models.
    assert emu.validation_mode in ("openapi", "sdk-models"), \
        f"LINE request bodies would not be validated (mode {emu.validation_mode!r}, spec dir {emu.spec_dir})"
    server = serve_in_thread(emu.app)
    emu.url = server.url
    yield emu
    server.stop()


@pytest.fixture(scope="session")
def slack_emu():
    emu = SlackEmulator(bot_token=SLACK_TOKEN, signing_secret=SLACK_SECRET)
    server = serve_in_thread(emu.app)
    emu.url = server.url
    yield emu
    server.stop()


@pytest.fixture(scope="session")
def archive_dir(tmp_path_factory) -> Path:
    """The session's local media archive (BRIDGE_ARCHIVE_DIR)."""
    return tmp_path_factory.mktemp("archive")


@pytest.fixture(scope="session")
def bridge_env(redis_url, line_emu, slack_emu, archive_dir):
    namespace = "lsbtest" + uuid.uuid4().hex[:8]
    return {
        "BRIDGE_ARCHIVE_DIR": str(archive_dir),   # the media archive (bridge.archive.media)
        "LINE_CHANNEL_SECRET": LINE_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_TRIAGE_CHANNEL": TRIAGE,
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "LINE_API_BASE_URL": line_emu.url,
        "SLACK_API_BASE_URL": slack_emu.url + "/api/",
        "BRIDGE_NAMESPACE": namespace,
        "BRIDGE_LANGUAGE": "ja",
        "LINE_REPLY_TOKEN_TTL": "30",
        "BRIDGE_SEND_DELAY_SECONDS": "0",  # the undo window is tested with the send_delay fixture
        "BRIDGE_IMAGE_SET_WAIT_SECONDS": "5",  # an incomplete imageSet is shown after 5 s (tests/test_image_set.py)
        # business hours / SLA / reminders: a test config, a controllable clock, a fast sweep
        # + 友だち情報 fields, 定型文, admins (tests/fixtures/crm.toml): one config file, as in production
        "BRIDGE_CONFIG": str(ROOT / "tests" / "fixtures" / "bridge-test.toml"),
        "BRIDGE_TEST_CLOCK": "1",
        "BRIDGE_SWEEP_INTERVAL": "1",
    }


@pytest.fixture(scope="session")
def settings(bridge_env) -> Settings:
    os.environ["BRIDGE_TEST_CLOCK"] = "1"  # the in-process web app reads the test clock too
    return Settings.from_env(bridge_env)


def _seed(line_emu, slack_emu) -> None:
    line_emu.reset()
    slack_emu.reset()
    slack_emu.add_channel(TRIAGE, "line-triage", members=[STAFF, STAFF2, "UBOT"])
    slack_emu.add_channel("COTHER01", "random", members=[STAFF])
    slack_emu.add_user(STAFF, "sato", real_name="佐藤 一郎", display_name="佐藤")
    slack_emu.add_user(STAFF2, "suzuki", real_name="Suzuki Hanako", display_name="suzuki")
    slack_emu.add_user("UOUTSIDER1", "guest", real_name="Guest User", display_name="guest")


def ready_app(settings):
    """The web app once its start-up work is done, as a load balancer waits for /healthz 200 before
    sending traffic (bridge.boot: on a loaded machine it may outlast create_app's grace)."""
    from handlers.app import create_app

    app = create_app(settings)
    assert app.config["BRIDGE_BOOT"].ready.wait(120), app.config["BRIDGE_BOOT"].reason
    return app


@pytest.fixture(scope="session")
def bridge_server(settings, line_emu, slack_emu):
    _seed(line_emu, slack_emu)
    app = ready_app(settings)
    server = serve_in_thread(app)
    yield server
    server.stop()


def start_workers(env: dict[str, str], count: int, name: str, tag: str = "") -> list[subprocess.Popen]:
    """``count`` rq workers as in the Procfile, for the deployment described by ``env``; they log to
    ``run_log(f"{name}-worker-{i}.log")``. ``tag`` makes their rq names unique (workers restarted
    in place of killed ones whose registration may linger)."""
    env = {**os.environ, **env, "LOG_LEVEL": env.get("LOG_LEVEL") or "INFO", "PYTHONUNBUFFERED": "1"}
    namespace = env["BRIDGE_NAMESPACE"]
    procs = []
    for i in range(count):
        log = open(run_log(f"{name}-worker-{i}.log"), "w")
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--with-scheduler", "--worker-class", "bridge.worker.BridgeWorker",
             "--serializer", "json", "--url", env["REDIS_URL"], "--name", f"{namespace}-w{i}{tag}",
             namespace, namespace + "-low"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ))
    r = redis.Redis.from_url(env["REDIS_URL"])
    deadline = time.time() + 30
    while time.time() < deadline:
        names = {w.decode() for w in r.smembers("rq:workers")}
        if sum(1 for n in names if f"{namespace}-w" in n) >= count:
            return procs
        if any(p.poll() is not None for p in procs):
            stop_workers(procs)
            raise RuntimeError(f"an rq worker exited at start-up; see {run_log('')}")
        time.sleep(0.1)
    stop_workers(procs)
    raise RuntimeError("rq workers did not register in time")


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def workers(bridge_env, bridge_server):
    procs = start_workers(bridge_env, WORKERS, "test")
    yield procs
    stop_workers(procs)


@pytest.fixture()
def inbox(redis_url):
    """An :class:`bridge.engine.inbox.Inbox` of its own namespace and rq queues on the session's Redis,
    no workers: a test calls its drains and sweeps directly."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from bridge.engine.inbox import Inbox

    ns = "ib" + uuid.uuid4().hex[:8]
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    queue = Queue(ns, connection=redis.Redis.from_url(redis_url), serializer=JSONSerializer)
    low = Queue(ns + "-low", connection=queue.connection, serializer=JSONSerializer)
    yield Inbox(r, Keys(ns), queue, low)
    for q in (queue, low):
        q.empty()
        q.delete(delete_jobs=True)
    Store(r, Keys(ns)).delete_namespace()


@pytest.fixture()
def store(settings) -> Store:
    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return Store(r, Keys(settings.namespace))


def use_clock_of(server) -> None:
    """Point this process's test clock (:mod:`bridge.clock`, one per process as in production) at the
    namespace of the in-process web app ``server``. Several apps share this test process (other
    modules build their own, on other Redis servers that may be gone by now); the clock read by
    the web handlers (webhook age, /pending, App Home) must be the one of the app a test drives."""
    from bridge import clock

    rt = server.server.app.config["BRIDGE_RUNTIME"]
    clock.install(rt.redis, rt.keys.clock())


class Harness:
    """What a test drives: a LINE friend, Slack staff, and what both platforms received."""

    def __init__(self, settings, bridge_server, line_emu, slack_emu, store):
        self.settings = settings
        self.url = bridge_server.url
        self.line = line_emu
        self.slack = slack_emu
        self.store = store
        self.webhooks = WebhookFactory(line_emu)
        self.slack_sender = SlackEventSender(self.url + "/slack/events", slack_emu, signing_secret=SLACK_SECRET)
        use_clock_of(bridge_server)

    # LINE side
    def send_line(self, *events, signature=None):
        body = self.webhooks.body(list(events))
        return send_webhook(self.url + "/line/webhook", LINE_SECRET, body, signature=signature)

    def friend_says(self, user_id: str, text: str, **kw) -> dict:
        event = self.webhooks.text(user_id, text, **kw)
        resp = self.send_line(event)
        assert resp.status_code == 200, resp.text
        return event

    # Slack side
    def settle(self, timeout: float = 15.0) -> None:
        """Wait until every accepted item was processed: no inbox stream holds work (a pending retry
        keeps its item there) and no rq job is queued or running. Then "nothing happened" can be
        asserted without sleeping."""
        from rq import Queue
        from rq.registry import StartedJobRegistry

        conn = redis.Redis.from_url(self.settings.redis_url)
        queues = [Queue(q, connection=conn) for q in (self.settings.queue_name, self.settings.low_queue_name)]

        def idle() -> bool:
            return (not any(self.store.r.scan_iter(match=self.store.keys.prefix + "inbox:*", count=1000))
                    and all(q.count == 0 and StartedJobRegistry(queue=q).count == 0 for q in queues))

        assert wait_until(lambda: idle() and idle(), timeout), "the bridge did not settle"

    def conv(self, line_id: str, account: str = "default"):
        """The conversation of a LINE chat (user, group or room id) of ``account``."""
        return self.store.get_conversation(cid(line_id, account))

    def thread_of(self, line_id: str, timeout: float = 30.0, account: str = "default") -> str:
        assert wait_until(lambda: (c := self.conv(line_id, account)) is not None and c.thread_ts, timeout), \
            f"no Slack thread for {line_id}"
        return self.conv(line_id, account).thread_ts

    def thread_messages(self, thread_ts: str) -> list[dict]:
        return self.slack.messages(TRIAGE, thread_ts)

    def staff_says(self, thread_ts: str, text: str, user: str = STAFF, **kw) -> dict:
        message, resp = self.slack_sender.user_message(TRIAGE, user, text, thread_ts=thread_ts, **kw)
        assert resp.status_code == 200, resp.text
        return message


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except (KeyError, IndexError, AttributeError):
            pass
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture()
def h(settings, bridge_server, workers, line_emu, slack_emu, store):
    store.delete_namespace()  # also resets the test clock to the real one
    _seed(line_emu, slack_emu)
    line_emu.add_user("U" + "1" * 32, "山田 花子", picture_url="https://profile.line-scdn.net/hanako")
    line_emu.add_user("U" + "2" * 32, "Taro Tanaka", picture_url="https://profile.line-scdn.net/taro")
    harness = Harness(settings, bridge_server, line_emu, slack_emu, store)
    yield harness
    # Let in-flight work settle so it cannot leak into the next test.
    queues = [f"rq:queue:{settings.queue_name}", f"rq:queue:{settings.low_queue_name}"]
    wait_until(lambda: not any(store.r.scan_iter(match=store.keys.prefix + "inbox:*", count=1000))
               and not any(store.r.llen(q) for q in queues), timeout=5)


@pytest.fixture()
def delay(bridge_server):
    """Set BRIDGE_SEND_DELAY_SECONDS of the running web process (the handler stamps send_at)."""
    import dataclasses

    rt = bridge_server.server.app.config["BRIDGE_RUNTIME"]
    original = rt.settings

    def set_delay(seconds: float) -> None:
        rt.settings = dataclasses.replace(original, send_delay=seconds)
    yield set_delay
    rt.settings = original


def cid(line_id: str, account: str = "default") -> str:
    """The bridge's conversation id of a LINE chat."""
    return conv_key(account, line_id)


HANAKO = "U" + "1" * 32
TARO = "U" + "2" * 32


@pytest.fixture()
def ip(settings, line_emu, slack_emu):
    """The in-process harness (:class:`tests.helpers.InProcess`), Hanako and Taro known to LINE."""
    from bridge import clock

    installed = (clock._redis, clock._key)  # the in-process web app's test clock: given back afterwards
    _seed(line_emu, slack_emu)
    line_emu.add_user(HANAKO, "山田 花子", picture_url="https://profile.line-scdn.net/hanako")
    line_emu.add_user(TARO, "Taro Tanaka")
    from tests.helpers import InProcess

    yield InProcess(settings, line_emu, slack_emu)
    clock._redis, clock._key = installed


def relayed_texts(messages: list[dict]) -> list[str]:
    """The texts shown in a thread, one per LINE message: friend messages that waited together are
    relayed as one Slack message (bridge.relay.batch)."""
    from bridge.relay.batch import texts_of_post

    return [t for m in messages for t in texts_of_post(m.get("text") or "")]


def shown_texts(slack_emu, thread_ts: str) -> list[str]:
    """Every friend text of a conversation in Slack, one per LINE message: the thread parent's first
    messages (a new conversation costs one post: bridge.relay.portal), then the thread's."""
    from bridge.relay.batch import texts_of_post

    blocks = (slack_emu.message(TRIAGE, thread_ts) or {}).get("blocks") or []
    first = texts_of_post(blocks[1]["text"]["text"]) if len(blocks) > 1 and blocks[1]["type"] == "section" else []
    return first + relayed_texts(slack_emu.messages(TRIAGE, thread_ts))
