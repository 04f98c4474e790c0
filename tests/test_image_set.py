"""An ``imageSet`` whose last images never arrive: after BRIDGE_IMAGE_SET_WAIT_SECONDS (5 s in the
tests) what arrived is shown with a line saying how many of how many; a late image is shown on its
own; a set completed in time is shown once, and nothing more comes when its wait runs out."""
from __future__ import annotations

from bridge.engine.due import ACCEPT, DueSet
from emulators.line_media import make_png
from tests.conftest import HANAKO, wait_until
from tests.test_media_line_to_slack import contents, files_in_thread, open_thread


def set_events(h, set_id: str, total: int):
    images = [make_png(rgb=(i * 40, 7, 7)) for i in range(1, total + 1)]
    events = [h.webhooks.image(HANAKO, data=img, content_type="image/png",
                               image_set={"id": set_id, "index": i + 1, "total": total}) for i, img in enumerate(images)]
    return images, events


def no_wait_pending(h) -> bool:
    """No imageSet wait is scheduled any more (its item went into the conversation's stream)."""
    return not [m for m, _ in DueSet(h.store.r, h.store.keys.due()).pending() if m.startswith(ACCEPT + "\t")]


def test_an_incomplete_image_set_is_shown_after_the_wait_and_a_late_image_on_its_own(h):
    thread = open_thread(h)
    images, events = set_events(h, "SET-PARTIAL", 5)
    h.send_line(events[2])
    h.send_line(events[0], events[1])        # 3 of 5; images 4 and 5 are late (or never come)
    assert wait_until(lambda: files_in_thread(h, thread), timeout=30)
    upload = files_in_thread(h, thread)[0]
    assert contents(h, upload) == images[:3]
    assert upload["username"] == "山田 花子" and "画像 3/5 枚を受信しました（残りは届いていません）" in upload["text"]
    h.send_line(events[4])                   # one of the missing ones, after all
    assert wait_until(lambda: len(files_in_thread(h, thread)) == 2, timeout=20)
    late = files_in_thread(h, thread)[1]
    assert contents(h, late) == [images[4]] and late["username"] == "山田 花子"
    assert "/5" not in late["text"]
    h.settle()
    assert len(files_in_thread(h, thread)) == 2


def test_a_set_completed_in_time_is_shown_once(h):
    thread = open_thread(h)
    images, events = set_events(h, "SET-WHOLE", 2)
    h.send_line(events[1])
    h.send_line(events[0])
    assert wait_until(lambda: files_in_thread(h, thread), timeout=20)
    assert wait_until(lambda: no_wait_pending(h), timeout=30)   # its wait ran out
    h.settle()
    uploads = files_in_thread(h, thread)
    assert len(uploads) == 1 and contents(h, uploads[0]) == images
    assert "/2" not in uploads[0]["text"]
