"""Fair drains: one friend's 40 images do not hold the only worker while everyone else waits.

Why a module of its own: it needs exactly ONE rq worker (started as the Procfile starts it), on a
private Redis, so that "another conversation is served meanwhile" can only come from a drain
yielding its turn (bridge.engine.drain: a time slice or a few units, then back of the queue).
The assertions are about order, never about time.
"""
from __future__ import annotations

import uuid

import pytest
import redis

from bridge.keys import Keys
from bridge.settings import Settings
from bridge.store import Store
from devtools.devredis import PrivateRedis
from emulators.line_media import make_png
from emulators.server import serve_in_thread
from tests.conftest import ROOT, Harness, _seed, relayed_texts, wait_until
from tests.test_recovery import WorkerPool

ALICE = f"U{0xa11ce:032x}"   # sends 40 images
BOB = f"U{0xb0b:032x}"       # sends one text meanwhile
CARO = f"U{0xca70:032x}"     # gets a staff reply meanwhile
IMAGES = 40


@pytest.fixture(scope="module")
def fair_env(bridge_env):
    server = PrivateRedis()
    yield {**bridge_env, "REDIS_URL": server.url, "BRIDGE_NAMESPACE": "lsbfair" + uuid.uuid4().hex[:8]}
    server.stop()


@pytest.fixture(scope="module")
def fh(fair_env, line_emu, slack_emu):
    from handlers.app import create_app

    (ROOT / ".run").mkdir(exist_ok=True)
    settings = Settings.from_env(fair_env)
    server = serve_in_thread(create_app(settings))
    pool = WorkerPool(fair_env)
    pool.start()  # the only worker
    store = Store(redis.Redis.from_url(settings.redis_url, decode_responses=True), Keys(settings.namespace))
    _seed(line_emu, slack_emu)
    for user, name in ((ALICE, "Alice"), (BOB, "Bob"), (CARO, "Caro")):
        line_emu.add_user(user, name)
    yield Harness(settings, server, line_emu, slack_emu, store)
    pool.stop_all()
    server.stop()


def images_in(h, thread: str) -> list[dict]:
    return [m for m in h.thread_messages(thread) if h.slack.shown_files(m)]


def test_one_friends_40_images_do_not_hold_the_only_worker(fh):
    h = fh
    for user in (ALICE, BOB, CARO):
        h.friend_says(user, "こんにちは")
    threads = {user: h.thread_of(user, timeout=60) for user in (ALICE, BOB, CARO)}
    pngs = [make_png(rgb=(i * 6, 100, 200)) for i in range(IMAGES)]
    h.line.fail_next("getMessageContent", 0, delay=0.2, times=IMAGES)  # a slowish download each
    h.send_line(*[h.webhooks.image(ALICE, data=png, content_type="image/png") for png in pngs])
    assert wait_until(lambda: images_in(h, threads[ALICE]), timeout=60)  # Alice's drain is under way

    h.friend_says(BOB, "Bです、急ぎの質問")
    h.staff_says(threads[CARO], "スタッフからの返信です")

    def served_or_alice_done() -> bool:
        bob = "Bです、急ぎの質問" in relayed_texts(h.thread_messages(threads[BOB]))
        caro = "スタッフからの返信です" in h.line.delivered_texts(CARO)
        return (bob and caro) or len(images_in(h, threads[ALICE])) == IMAGES

    assert wait_until(served_or_alice_done, timeout=120)
    assert len(images_in(h, threads[ALICE])) < IMAGES, "Bob and Caro waited for all of Alice's images"
    assert wait_until(lambda: len(images_in(h, threads[ALICE])) == IMAGES, timeout=180)
    got = [h.slack.file_content(h.slack.shown_files(m)[0]) for m in images_in(h, threads[ALICE])]
    assert got == pngs  # each once, in order
