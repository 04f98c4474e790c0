"""Browser tests of the sandbox page: ``./scripts/demo --play`` itself (emulators, the Procfile's
web + worker through honcho, a fresh Redis namespace) in a subprocess, driven only through the
page by Debian's chromium under Playwright (``CHROMIUM``, default ``/usr/bin/chromium``;
``scripts/test`` installs it). Waits are Playwright's auto-waiting ``expect``, never sleeps.
"""
from __future__ import annotations

import io
import itertools
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.conftest import ROOT, run_log

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
expect.set_options(timeout=30_000)  # a first message goes LINE → web → Redis → worker → Slack; the page polls


@pytest.fixture(scope="session")
def sandbox_url(redis_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_CHANNEL", "SLACK_", "BRIDGE_"))}
    env.update(REDIS_URL=redis_url, PYTHONUNBUFFERED="1", DEMO_PROCS_LOG=str(run_log("browser-demo-procs.log")),
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    log_path = run_log("browser-sandbox.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "devtools.demo", "--play", "--second-account", "--port", "0"],
                                env=env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = None
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:  # start-up: wait for the printed URL
        found = re.search(r"Sandbox page: (http://\S+)", log_path.read_text())
        if found:
            url = found.group(1)
            break
        time.sleep(0.1)
    try:
        if url is None:
            pytest.fail(f"./scripts/demo --play did not start:\n{log_path.read_text()[-3000:]}")
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the demo stops honcho and cleans its Redis keys
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"missing {CHROMIUM}: the browser tests need Debian's chromium "
                    "(./scripts/test installs it as root; or set CHROMIUM=/path/to/chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


_names = itertools.count(1)


class Sandbox:
    """What a person does on the page, in the page's own terms."""

    def __init__(self, page: Page):
        self.page = page
        self.line = page.get_by_test_id("line-messages")
        self.channel = page.get_by_test_id("channel")
        self.thread = page.get_by_test_id("thread")

    @staticmethod
    def unique(name: str) -> str:
        return f"{name}{next(_names)}"

    # LINE (left)
    def add_friend(self, name: str) -> None:
        self.page.get_by_role("button", name="＋友だち").click()
        self.page.get_by_test_id("friend-name").fill(name)
        self.page.get_by_role("button", name="友だちになる").click()
        expect(self.page.locator("#line-head")).to_contain_text(name)

    def friend_says(self, text: str) -> None:
        self.page.get_by_test_id("line-input").fill(text)
        self.page.get_by_test_id("line-input").press("Enter")
        expect(self.line.get_by_test_id("line-my-message").filter(has_text=text)).to_be_visible()

    # Slack (right)
    def act_as(self, label: str) -> None:
        self.page.get_by_test_id("slack-user").select_option(label=label)

    def parent(self, name: str) -> Locator:
        return self.channel.get_by_test_id("slack-message").filter(has_text=re.compile(rf"#\d+ {re.escape(name)}"))

    def open_thread(self, name: str) -> Locator:
        parent = self.parent(name)
        parent.locator("[data-act=open-thread]").click()
        expect(self.thread).to_contain_text(name)
        return parent

    def staff_says(self, text: str, shown: str | None = None) -> None:
        """Reply in the open thread; wait until it is shown (``shown``: its text once rendered)."""
        self.page.get_by_test_id("thread-input").fill(text)
        self.page.get_by_test_id("thread-input").press("Enter")
        expect(self.thread.get_by_test_id("slack-message").filter(has_text=shown or text)).to_be_visible()

    def command(self, text: str) -> None:
        self.page.get_by_test_id("channel-input").fill(text)
        self.page.get_by_test_id("channel-input").press("Enter")

    def send_image(self, data: bytes, name: str = "photo.png") -> None:
        """The friend sends a picture with 🖼️ in their composer."""
        with self.page.expect_file_chooser() as chooser:
            self.page.get_by_title("image", exact=True).click()
        chooser.value.set_files(files=[{"name": name, "mimeType": "image/png", "buffer": data}])


def png(color: tuple[int, int, int], size: tuple[int, int] = (160, 100)) -> bytes:
    """A small real PNG (Pillow), so the page's <img> has something to decode."""
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).ellipse((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def loaded(img: Locator, width: int = 160) -> None:
    """The <img> is shown and the picture sent actually loaded (a broken image has naturalWidth 0).
    Retried on the locator: the page re-renders its messages as the state changes."""
    expect(img).to_be_visible()
    expect(img).to_have_js_property("naturalWidth", width)


@pytest.fixture()
def open_sandbox(browser, sandbox_url):
    """Open the page in a fresh browser context of the given window size: ``open_sandbox(800, 900)``."""
    contexts, errors = [], []

    def open_page(width: int = 1500, height: int = 900) -> Sandbox:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(sandbox_url)
        return Sandbox(page)

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture()
def sandbox(open_sandbox):
    return open_sandbox()
