"""Fair drains: one friend's 40 images do not hold the only worker while everyone else waits.

Why a module of its own: it needs exactly ONE rq worker (started as the Procfile starts it), on a
private Redis, so that "another conversation is served meanwhile" can only come from a drain
yielding its turn (bridge.engine.drain: a time slice or a few units, then back of the queue).
The assertions are about order, never about time.
"""
from __future__ import annotations

import pytest

from emulators.line_media import make_png
from tests.conftest import Harness, _seed, relayed_texts, wait_until
from tests.helpers import own_deployment

ALICE = f"U{0xa11ce:032x}"   # sends 40 images
BOB = f"U{0xb0b:032x}"       # sends one text meanwhile
CARO = f"U{0xca70:032x}"     # gets a staff reply meanwhile
IMAGES = 40


@pytest.fixture(scope="module")
def fh(bridge_env, line_emu, slack_emu):
    with own_deployment(bridge_env, "fair", redis_server="private", workers=1) as deployment:  # the only worker
        _seed(line_emu, slack_emu)
        for user, name in ((ALICE, "Alice"), (BOB, "Bob"), (CARO, "Caro")):
            line_emu.add_user(user, name)
        yield Harness(deployment.settings, deployment.server, line_emu, slack_emu, deployment.fresh_store())


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
