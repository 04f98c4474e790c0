"""A staff member's file is downloaded from Slack once: LINE's ``/media`` fetch and the media archive
share one download (bridge.media.cache keeps the original; bridge.archive.jobs reads it there), and the
archive falls back to Slack when the copy is gone. What LINE was not sent, or got converted, is archived
as staff sent it."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import requests

from bridge.archive.media import MediaArchive
from bridge.media.serve import serve_media
from emulators.line_media import make_png
from tests.conftest import HANAKO, STAFF, TRIAGE, cid, wait_until
from tests.helpers import RecordingQueue, in_process_domain, open_thread

GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
       b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def slack_downloads(slack, file_id: str) -> int:
    """How often Slack served the file's bytes (``url_private`` / ``url_private_download``; not thumbnails)."""
    return sum(1 for d in slack.file_downloads if d["file"] == file_id and not d["path"].startswith("thumb_"))


def staff_media(store, line_id: str = HANAKO) -> list[str]:
    """The hashes the archive's staff entries of the conversation point at."""
    entries = [json.loads(m) for m in store.r.zrange(store.keys.transcript(conv_id=cid(line_id)), 0, -1)]
    return [ref["sha256"] for e in entries if e["dir"] == "out" for ref in e.get("media") or []]


def archived(archive: MediaArchive, sha: str) -> bytes:
    with archive.open(sha) as f:
        return f.read()


# -- end to end: workers, the web app's /media, the emulators ---------------------------------------------
def test_a_staff_image_reaches_line_and_the_archive_with_one_download_from_slack(h, archive_dir):
    thread = open_thread(h)
    png = make_png(64, 48, rgb=(12, 120, 240))
    message = h.staff_says(thread, "地図です", files=[{"name": "地図.png", "content": png, "mimetype": "image/png"}])
    file_id = message["files"][0]["id"]
    assert wait_until(lambda: len([m for d in h.line.deliveries for m in d.messages]) == 2, timeout=20)
    image = [m for d in h.line.deliveries for m in d.messages][1]
    assert image["type"] == "image"
    sha = hashlib.sha256(png).hexdigest()
    assert wait_until(lambda: staff_media(h.store) == [sha], timeout=30)       # the archive job ran
    assert archived(MediaArchive(str(archive_dir)), sha) == png                # the bytes staff sent
    local = image["originalContentUrl"].replace("http://127.0.0.1/", h.url + "/", 1)
    got = requests.get(local, timeout=20)                                      # LINE fetches the original
    assert got.status_code == 200 and got.content == png
    assert slack_downloads(h.slack, file_id) == 1                              # before: twice (archive + LINE)
    assert requests.get(local, timeout=20).content == png                      # LINE asks again: still once
    assert slack_downloads(h.slack, file_id) == 1


# -- in process: the test decides when LINE fetches and when the archive job runs ---------------------------
@pytest.fixture()
def arch(ip):
    ip.queue = RecordingQueue()
    ip.domain = in_process_domain(ip.rt, ip.queue)
    return ip


def reply_with(ip, text: str, content: bytes, name: str, mimetype: str) -> dict:
    """A staff reply with one file, sent (no undo window); its archive job waits in the queue."""
    if ip.conv(HANAKO) is None:
        ip.friend_says(HANAKO, "こんにちは")
    thread = ip.conv(HANAKO).thread_ts
    slack_file = ip.slack.add_file(content, name, mimetype=mimetype, user=STAFF)
    message = ip.slack.add_user_message(TRIAGE, STAFF, text, thread_ts=thread, files=[slack_file])
    ip.process(ip.work.SLACK_MESSAGE, {"channel": TRIAGE, "ts": message["ts"], "thread_ts": thread, "user": STAFF,
                                       "text": text, "files": [slack_file]}, origin="slack")
    return slack_file


def line_fetches(ip, url: str) -> bytes:
    """What LINE gets from a ``/media`` link the bridge sent (the web app's code, this host's cache)."""
    token = url.split("/media/", 1)[1].split("/")[0]
    served = serve_media(ip.rt.settings, ip.rt.slack, token, cache=ip.rt.media_cache)
    assert served.status == 200
    return served.body if isinstance(served.body, bytes) else b"".join(served.body)


def run_archive_jobs(ip) -> int:
    items = [q for q in ip.queue.now if q[3] == ip.work.ARCHIVE_MEDIA]
    ip.queue.now = [q for q in ip.queue.now if q[3] != ip.work.ARCHIVE_MEDIA]
    for _origin, _event_id, _stream, kind, payload in items:
        ip.process(kind, payload)
    ip.rt.archive.flush()
    return len(items)


def sent_images(ip) -> list[dict]:
    return [m for d in ip.line.deliveries for m in d.messages if m["type"] == "image"]


def test_the_archive_takes_the_file_line_fetched_without_asking_slack_again(arch):
    png = make_png(40, 30, rgb=(1, 2, 3))
    f = reply_with(arch, "写真です", png, "photo.png", "image/png")
    (image,) = sent_images(arch)
    assert line_fetches(arch, image["originalContentUrl"]) == png
    assert slack_downloads(arch.slack, f["id"]) == 1
    assert run_archive_jobs(arch) == 1
    sha = hashlib.sha256(png).hexdigest()
    assert staff_media(arch.store) == [sha] and archived(arch.rt.archive, sha) == png
    assert slack_downloads(arch.slack, f["id"]) == 1                           # before: twice


def test_with_the_copy_gone_the_archive_downloads_the_file_from_slack(arch):
    png = make_png(40, 30, rgb=(4, 5, 6))
    f = reply_with(arch, "写真です", png, "photo.png", "image/png")
    (image,) = sent_images(arch)
    assert line_fetches(arch, image["originalContentUrl"]) == png
    shutil.rmtree(arch.rt.media_cache.directory, ignore_errors=True)           # evicted, or another host
    assert run_archive_jobs(arch) == 1
    sha = hashlib.sha256(png).hexdigest()
    assert staff_media(arch.store) == [sha] and archived(arch.rt.archive, sha) == png
    assert slack_downloads(arch.slack, f["id"]) == 2
    assert line_fetches(arch, image["originalContentUrl"]) == png              # the archive's download serves LINE
    assert slack_downloads(arch.slack, f["id"]) == 2


def test_a_converted_image_is_archived_as_staff_sent_it_from_the_one_download(arch):
    f = reply_with(arch, "", GIF, "anim.gif", "image/gif")
    (image,) = sent_images(arch)
    jpeg = line_fetches(arch, image["originalContentUrl"])                     # LINE gets a JPEG made from it
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert run_archive_jobs(arch) == 1
    sha = hashlib.sha256(GIF).hexdigest()
    assert staff_media(arch.store) == [sha] and archived(arch.rt.archive, sha) == GIF
    assert slack_downloads(arch.slack, f["id"]) == 1


def test_a_file_line_refused_is_still_archived_from_slack(arch):
    mov = b"\x00\x00\x00\x14ftypqt  " + bytes(range(200))
    f = reply_with(arch, "動画です", mov, "clip.mov", "video/quicktime")      # not MP4: not sent to LINE
    assert not [m for d in arch.line.deliveries for m in d.messages if m["type"] == "video"]
    assert slack_downloads(arch.slack, f["id"]) == 0
    assert run_archive_jobs(arch) == 1
    sha = hashlib.sha256(mov).hexdigest()
    assert staff_media(arch.store) == [sha] and archived(arch.rt.archive, sha) == mov
    assert slack_downloads(arch.slack, f["id"]) == 1


# -- the cache keeps complete downloads only -------------------------------------------------------------
def test_only_a_complete_download_is_kept(tmp_path):
    from bridge.media.cache import VariantCache

    cache = VariantCache(str(tmp_path / "cache"), max_bytes=4096)
    assert b"".join(cache.keep_original("F1", [b"ab", b"cd"])) == b"abcd"
    with cache.open_original("F1") as kept:
        assert kept.read() == b"abcd"

    cut = cache.keep_original("F2", iter([b"ab", b"cd"]))
    assert next(cut) == b"ab"
    cut.close()                                                                # the client went away

    def broken():
        yield b"ab"
        raise ConnectionError("Slack hung up")

    with pytest.raises(ConnectionError):
        b"".join(cache.keep_original("F3", broken()))
    too_big = [bytes(600)] * 2                                                 # over a quarter of the cache
    assert b"".join(cache.keep_original("F4", too_big)) == bytes(1200)         # still served whole
    assert [cache.open_original(f) for f in ("F2", "F3", "F4")] == [None, None, None]
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".bin"]  # no half file left behind
