"""The sandbox page's server: a small Flask app in the demo process.

It holds the emulator objects (through :class:`World`), serves ``static/index.html``,
``static/sandbox.js`` and ``static/slack_pane.js``, answers ``GET /api/state`` (everything
both panes show, polled by the page) and forwards what the person does on the page to the bridge's web process as
signed LINE webhooks and Slack events/commands/actions. Media: files in Slack messages are
served from the Slack emulator's store (``/api/slack/files/<id>``), images the bridge sends to
LINE through ``/api/bridge-media`` (the bridge serves them under its ``PUBLIC_BASE_URL``, which
the browser may not reach, e.g. with ``--host 0.0.0.0``).
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from html import escape
from pathlib import Path
from urllib.parse import quote

import requests
from flask import Flask, Response, abort, jsonify, request, send_from_directory

from devtools.sandbox.line_side import STICKERS, LineAccount
from devtools.sandbox.slack_side import SlackSide
from devtools.sandbox.config import CLOSED_IN_DAYS

STATIC = Path(__file__).resolve().parent / "static"
_COLOR = re.compile(r"^#?[0-9a-fA-F]{3,8}$")
STICKER_BY_ID = {sticker_id: icon for _, sticker_id, icon, _ in STICKERS}


class World:
    """Everything the page shows and drives: the LINE accounts and the Slack channel."""

    def __init__(self, stack, page_url: str, lang: str = "ja") -> None:
        self.page_url = page_url.rstrip("/")
        self.lang = lang  # BRIDGE_LANGUAGE of the sandbox's bridge: the page starts in it
        self.send_delay = float(stack.env.get("BRIDGE_SEND_DELAY_SECONDS") or 10)  # the undo window
        self.clock = None  # moves the bridge's "now" (business hours) when the stack allows it
        if stack.env.get("BRIDGE_TEST_CLOCK") == "1":
            from devtools.sandbox.clock import SandboxClock

            self.clock = SandboxClock(stack.env["REDIS_URL"], stack.namespace)
        self.bridge_media = stack.base.rstrip("/") + "/media/"  # PUBLIC_BASE_URL/media/<token>
        self.accounts: dict[str, LineAccount] = {}
        self.add_account("default", stack.line, stack.line_webhook_url, stack.line.channel_secret)
        for key, bot, secret in stack.extra_accounts:
            self.add_account(key, stack.line, stack.line_webhook_url, secret, bot)
        self.slack = SlackSide(stack.slack, stack.channel, "line-triage", stack.slack_events_url,
                               stack.slack.signing_secret, self.avatar, _reaction_choices(stack.env))

    def add_account(self, account_id: str, emulator, webhook_url: str, channel_secret: str,
                    bot_user_id: str | None = None) -> LineAccount:
        account = LineAccount(account_id, emulator, webhook_url, channel_secret, self.avatar, bot_user_id,
                              media=self.media, now=self.clock.now if self.clock else time.time)
        self.accounts[account_id] = account
        return account

    def avatar(self, emoji: str, color: str) -> str:
        """A picture URL served by this page (the machine may be offline: no external images)."""
        return f"{self.page_url}/avatar.svg?e={quote(emoji[:4])}&c={quote(color.lstrip('#'))}"

    def media(self, url: str) -> str:
        """A media URL the bridge put in a LINE message, as the page loads it (through this server)."""
        return f"/api/bridge-media?u={quote(url, safe='')}" if url.startswith(self.bridge_media) else url

    def state(self) -> dict:
        clock = {"offset": self.clock.offset, "now": self.clock.now(), "closed_in_days": CLOSED_IN_DAYS} if self.clock else None
        return {"bridge": {"lang": self.lang, "send_delay": self.send_delay, "clock": clock},
                "line": {"accounts": [{"id": a.id, "name": a.name} for a in self.accounts.values()],
                         "account": {aid: a.state() for aid, a in self.accounts.items()}},
                "slack": self.slack.state()}


def _reaction_choices(env: dict[str, str]) -> list[tuple[str, str]]:
    """Reactions the picker offers: claim, resolve and each mark's emoji (from BRIDGE_CONFIG)."""
    from bridge.config import ConfigSource
    from bridge.config.marks import parse_marks
    from bridge.triage.marks import default_marks

    try:
        path = env.get("BRIDGE_CONFIG")
        marks = (parse_marks(ConfigSource.read(path), []) if path else None) or default_marks()
    except Exception:  # a broken config stops the bridge itself with a clear message
        marks = default_marks()
    out = [(name, action) for name, action in marks.reactions.items()]
    labels = {m.key: m.ja for m in marks.ordered()}
    return [(n, labels.get(a.partition(":")[2], a) if a.startswith("mark:") else a) for n, a in out] + [("eyes", ""), ("+1", "")]


def create_app(world: World) -> Flask:
    app = Flask("line-slack-sandbox", static_folder=None)

    def body() -> dict:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400)
        return data

    def account(account_id: str) -> LineAccount:
        if account_id not in world.accounts:
            abort(404)
        return world.accounts[account_id]

    def attempt(fn, *args, **kwargs):
        try:
            return jsonify(fn(*args, **kwargs))
        except (ValueError, KeyError) as e:
            return jsonify({"error": str(e)}), 400

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html", max_age=0)

    @app.get("/<any('sandbox.js', 'slack_pane.js'):name>")
    def script(name: str):
        return send_from_directory(STATIC, name, max_age=0)

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.get("/avatar.svg")
    def avatar_svg():
        emoji = request.args.get("e", "🙂")[:4]
        color = request.args.get("c", "06c755")
        color = "#" + color.lstrip("#") if _COLOR.match(color) else "#06c755"
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
               f'<rect width="64" height="64" rx="32" fill="{escape(color)}"/>'
               f'<text x="32" y="43" font-size="32" text-anchor="middle">{escape(emoji)}</text></svg>')
        return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=3600"})

    @app.get("/sticker.svg")
    def sticker_svg():
        """The sandbox is offline: a sticker the bridge shows from LINE's CDN is drawn here instead."""
        icon = STICKER_BY_ID.get(request.args.get("id", ""), "🧸")
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">'
               f'<rect width="120" height="120" rx="18" fill="#f4f4f4"/>'
               f'<text x="60" y="80" font-size="64" text-anchor="middle">{escape(icon)}</text></svg>')
        return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/state")
    def state():
        data = world.state()
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        version = hashlib.sha1(text.encode()).hexdigest()[:16]
        if request.args.get("v") == version:
            return jsonify({"v": version, "same": True})
        return Response('{"v": "%s", "state": %s}' % (version, text), mimetype="application/json")

    @app.post("/api/line/<account_id>/friends")
    def add_friend(account_id: str):
        b = body()
        return attempt(account(account_id).add_friend, str(b.get("name", "")), str(b.get("emoji") or "🙂"),
                       str(b.get("color") or "#06c755"), bool(b.get("follow", True)))

    @app.post("/api/line/<account_id>/groups")
    def add_group(account_id: str):
        b = body()
        return attempt(account(account_id).add_group, str(b.get("name", "")), list(b.get("members") or []),
                       str(b.get("emoji") or "👥"), str(b.get("color") or "#5b6b7f"))

    @app.post("/api/line/<account_id>/send")
    def line_send(account_id: str):
        b = body()
        return attempt(account(account_id).send, str(b.get("chat", "")), b.get("sender"), str(b.get("kind", "text")),
                       text=str(b.get("text", "")), sticker=int(b.get("sticker") or 0), image=str(b.get("image", "")))

    @app.post("/api/line/<account_id>/block")
    def line_block(account_id: str):
        b = body()
        return attempt(account(account_id).set_blocked, str(b.get("chat", "")), bool(b.get("blocked")))

    @app.get("/api/line/<account_id>/content/<message_id>")
    def line_content(account_id: str, message_id: str):
        found = account(account_id).images.get(message_id)
        if found is None:
            abort(404)
        return Response(found[0], mimetype=found[1])

    @app.get("/api/bridge-media")
    def bridge_media():
        """An image the bridge sent to LINE, fetched from the bridge's /media route as LINE would."""
        url = request.args.get("u", "")
        if not url.startswith(world.bridge_media):
            abort(404)  # not an open proxy: only the bridge's own media links
        try:
            r = requests.get(url, timeout=20)
        except requests.RequestException:
            abort(502)
        return Response(r.content, status=r.status_code, mimetype=r.headers.get("Content-Type", "application/octet-stream"))

    @app.get("/api/slack/files/<file_id>")
    def slack_file(file_id: str):
        """A file shown in a Slack message: the bytes stored in the Slack emulator."""
        info, content = world.slack.slack.file_info(file_id), world.slack.slack.file_content(file_id)
        if info is None or content is None:
            abort(404)
        headers = {}
        if request.args.get("download"):
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(info['name'], safe='')}"
        return Response(content, mimetype=info.get("mimetype") or "application/octet-stream", headers=headers)

    @app.post("/api/slack/message")
    def slack_message():
        b = body()
        file = b.get("file") if isinstance(b.get("file"), dict) else None
        return attempt(world.slack.post, str(b.get("user", "")), str(b.get("text", "")), b.get("thread_ts"), file)

    @app.post("/api/clock")
    def move_clock():
        """The page's clock: {"days": 0} is now, {"days": n} the same time n days later."""
        if world.clock is None:
            abort(404)
        days = body().get("days")
        if not isinstance(days, int) or not 0 <= days <= 14:
            return jsonify({"error": "days: 0-14"}), 400
        return jsonify(world.clock.move(days * 86400))

    @app.post("/api/slack/edit")
    def slack_edit():
        b = body()
        return attempt(world.slack.edit, str(b.get("user", "")), str(b.get("ts", "")), str(b.get("text", "")))

    @app.post("/api/slack/delete")
    def slack_delete():
        b = body()
        return attempt(world.slack.delete, str(b.get("user", "")), str(b.get("ts", "")))

    @app.post("/api/slack/reaction")
    def slack_reaction():
        b = body()
        return attempt(world.slack.react, str(b.get("user", "")), str(b.get("ts", "")), str(b.get("name", "")),
                       bool(b.get("removed")))

    @app.post("/api/slack/action")
    def slack_action():
        b = body()
        return attempt(world.slack.action, str(b.get("user", "")), str(b.get("ts") or ""), str(b.get("action_id", "")),
                       b.get("value"), b.get("option"), b.get("selected_user"), b.get("ephemeral"))

    @app.post("/api/slack/shortcut")
    def slack_shortcut():
        b = body()
        return attempt(world.slack.shortcut, str(b.get("user", "")), str(b.get("ts", "")))

    @app.post("/api/slack/view")
    def slack_view():
        b = body()
        values = b.get("values")
        return attempt(world.slack.submit_view, str(b.get("user", "")), str(b.get("view_id", "")),
                       values if isinstance(values, dict) else None)

    @app.post("/api/slack/command")
    def slack_command():
        b = body()
        text = str(b.get("text", "")).strip()
        if not text.startswith("/"):
            return jsonify({"error": "not a command"}), 400
        return attempt(world.slack.command, str(b.get("user", "")), text)

    return app
