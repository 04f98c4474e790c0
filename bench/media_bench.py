"""Media benchmark: 20 images of 1 MB from LINE to Slack and 20 from Slack to LINE.

Set-up (loopback): Redis (``REDIS_URL`` or a private ``redis-server``), the LINE and Slack
emulators in this process, the bridge's web app under gunicorn as the Procfile runs it
(1 worker, 4 threads) and two ``rq worker --with-scheduler`` processes — each its own
process group, so peak memory is measured for the bridge's processes only (the emulators,
which hold every file in memory, run here).

1. LINE → Slack: 20 friends each send one 1 MB PNG; time from the first webhook to the
   last file being complete in Slack (downloaded from LINE, streamed to a temporary file,
   uploaded with the files_upload_v2 flow); every byte compared.
2. Slack → LINE: staff attach one 1 MB PNG to a reply in each of those threads; time from
   the first Events API POST to the last LINE delivery, then LINE "fetches" every
   originalContentUrl and previewImageUrl (through /media on the web app, one after another) —
   fetch time, and the checks of ``emulators.line_media.media_problems``.

Peak memory: the highest resident set size seen (sampled every 20 ms from /proc) of any one
process, and of all processes together, of the workers (rq forks a work horse per job) and
of the web app.

    .venv/bin/python bench/media_bench.py [--images 20] [--size-mb 1]
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.devredis import PrivateRedis  # noqa: E402
from emulators.line_api import LineEmulator  # noqa: E402
from emulators.line_media import make_png, media_problems  # noqa: E402
from emulators.line_webhooks import WebhookFactory, send_webhook  # noqa: E402
from emulators.server import serve_in_thread  # noqa: E402
from emulators.slack_api import SlackEmulator  # noqa: E402
from emulators.slack_events import SlackEventSender  # noqa: E402

TRIAGE, STAFF = "CTRIAGE01", "USTAFF01"
LINE_SECRET, LINE_TOKEN, SLACK_TOKEN, SLACK_SECRET = "bench-secret", "bench-token", "xoxb-bench", "bench-signing"


class MemorySampler(threading.Thread):
    """Peak RSS (kB) of the process groups of ``pids``: max of one process, max of their sum."""

    def __init__(self, groups: dict[str, list[int]]):
        super().__init__(daemon=True)
        self.groups = groups
        self.peak_one = {k: 0 for k in groups}
        self.peak_sum = {k: 0 for k in groups}
        self.stop = threading.Event()

    @staticmethod
    def _rss_by_pgid() -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                pgid, rss_pages = int(fields[2]), int(fields[21])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(pgid, []).append(rss_pages * os.sysconf("SC_PAGE_SIZE") // 1024)
        return out

    def run(self) -> None:
        while not self.stop.is_set():
            by_pgid = self._rss_by_pgid()
            for name, pgids in self.groups.items():
                values = [v for g in pgids for v in by_pgid.get(g, [])]
                if values:
                    self.peak_one[name] = max(self.peak_one[name], max(values))
                    self.peak_sum[name] = max(self.peak_sum[name], sum(values))
            time.sleep(0.02)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--size-mb", type=float, default=1.0)
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulators' access log
    size = int(args.size_mb * 1024 * 1024)
    private = None if os.environ.get("REDIS_URL") else PrivateRedis()
    redis_url = os.environ.get("REDIS_URL") or private.url
    namespace = "lsbmedia" + uuid.uuid4().hex[:8]
    line = LineEmulator(channel_access_token=LINE_TOKEN, channel_secret=LINE_SECRET)
    slack = SlackEmulator(bot_token=SLACK_TOKEN, signing_secret=SLACK_SECRET)
    line_srv, slack_srv = serve_in_thread(line.app), serve_in_thread(slack.app)
    line.url, slack.url = line_srv.url, slack_srv.url
    slack.add_channel(TRIAGE, "line-triage", members=[STAFF])
    slack.add_user(STAFF, "sato", real_name="佐藤 一郎", display_name="佐藤")
    friends = [f"U{i:032x}" for i in range(1, args.images + 1)]
    for i, f in enumerate(friends):
        line.add_user(f, f"友だち {i}")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    web_url = f"http://127.0.0.1:{web_port}"
    env = {**os.environ, "LINE_CHANNEL_SECRET": LINE_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
           "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_TRIAGE_CHANNEL": TRIAGE,
           "REDIS_URL": redis_url, "PUBLIC_BASE_URL": web_url, "LINE_API_BASE_URL": line.url,
           "SLACK_API_BASE_URL": slack.url + "/api/", "BRIDGE_NAMESPACE": namespace, "BRIDGE_SEND_DELAY_SECONDS": "0",
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    bindir = Path(sys.executable).parent
    logdir = Path(tempfile.mkdtemp(prefix="lsb-media-bench-"))
    procs = [subprocess.Popen([str(bindir / "gunicorn"), "--bind", f"127.0.0.1:{web_port}", "--workers", "1", "--threads", "4",
                               "handlers.app:create_app()"], env=env, cwd=ROOT, start_new_session=True,
                              stdout=open(logdir / "web.log", "w"), stderr=subprocess.STDOUT)]
    for i in range(2):
        procs.append(subprocess.Popen([str(bindir / "rq"), "worker", "--with-scheduler", "--worker-class", "bridge.worker.BridgeWorker",
                                       "--serializer", "json", "--url", redis_url, "--name", f"{namespace}-w{i}", namespace, namespace + "-low"],
                                      env=env, cwd=ROOT, start_new_session=True, stdout=open(logdir / f"worker{i}.log", "w"),
                                      stderr=subprocess.STDOUT))
    sampler = MemorySampler({"web": [procs[0].pid], "workers": [p.pid for p in procs[1:]]})
    ok = True
    try:
        assert wait_for(lambda: _up(web_url), 60), f"web app did not start; see {logdir}"
        r = redis.Redis.from_url(redis_url)
        assert wait_for(lambda: sum(namespace in w.decode() for w in r.smembers("rq:workers")) >= 2, 60), "workers did not start"
        sampler.start()
        hooks = WebhookFactory(line)
        images = [make_png(16, 16, rgb=(i, 255 - i, 7), min_bytes=size) for i in range(args.images)]

        # 1. LINE -> Slack
        t0 = time.time()
        for f, img in zip(friends, images):
            body = hooks.body([hooks.image(f, data=img, content_type="image/png")])
            assert send_webhook(web_url + "/line/webhook", LINE_SECRET, body).status_code == 200

        def uploads():
            return [
                m for parent in slack.messages(TRIAGE) for m in slack.messages(TRIAGE, parent["ts"]) if slack.shown_files(m)]
        done = wait_for(lambda: len(uploads()) == args.images, 300)
        t_in = time.time() - t0
        got = sorted(slack.file_content(slack.shown_files(m)[0]) for m in uploads())
        intact = got == sorted(images)
        ok &= done and intact

        # 2. Slack -> LINE
        sender = SlackEventSender(web_url + "/slack/events", slack, signing_secret=SLACK_SECRET)
        threads = [parent["ts"] for parent in slack.messages(TRIAGE)]
        files = [slack.add_file(img, f"photo{i}.png", mimetype="image/png", user=STAFF) for i, img in enumerate(images)]
        t0 = time.time()
        for thread, fobj in zip(threads, files):
            _, resp = sender.user_message(TRIAGE, STAFF, "", thread_ts=thread, files=[fobj["id"]])
            assert resp.status_code == 200
        delivered = wait_for(lambda: sum(m.get("type") == "image" for d in line.deliveries for m in d.messages) == len(threads), 300)
        t_out = time.time() - t0
        t0 = time.time()
        problems = media_problems(line, production=False)
        t_fetch = time.time() - t0
        ok &= delivered and not problems
        sampler.stop.set()
        sampler.join()
        mb = 1024
        print(f"media benchmark: {args.images} images of {args.size_mb:g} MB each way (2 rq workers, gunicorn 1×4 threads)")
        print(f"  LINE → Slack : {t_in:6.2f} s for {args.images} images  ({args.images / t_in:.1f} images/s), bytes intact: {intact}")
        print(f"  Slack → LINE : {t_out:6.2f} s to deliver {args.images} image messages; LINE fetching "
              f"{2 * args.images} URLs (originals + previews) through /media: {t_fetch:.2f} s")
        print(f"  media URL problems: {problems or 'none'}")
        print(f"  peak RSS workers: {sampler.peak_one['workers'] / mb:.0f} MB (one process), "
              f"{sampler.peak_sum['workers'] / mb:.0f} MB (all worker processes together)")
        print(f"  peak RSS web    : {sampler.peak_one['web'] / mb:.0f} MB (one process), {sampler.peak_sum['web'] / mb:.0f} MB (together)")
    except AssertionError as exc:
        print(f"FAILED: {exc}")
        ok = False
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        rr = redis.Redis.from_url(redis_url)
        for key in rr.scan_iter(match=f"*{namespace}*", count=1000):
            rr.delete(key)
        line_srv.stop()
        slack_srv.stop()
        if private:
            private.stop()
    return 0 if ok else 1


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())
