"""The browser sandbox (``./scripts/demo --play``): LINE as a friend sees it on the left, the
Slack triage channel as staff see it on the right, both driving the real bridge (the
Procfile's web + worker) through the emulators. A development tool: never imported by
``bridge/`` or ``handlers/``.
"""
from __future__ import annotations

from werkzeug.serving import make_server


def serve(stack, host: str = "127.0.0.1", port: int = 8765, lang: str = "ja") -> int:
    """Serve the page until Ctrl-C / SIGTERM. Prints its URL."""
    from devtools.sandbox.config import seed_friend_data
    from devtools.sandbox.server import World, create_app

    try:
        server = make_server(host, port, lambda environ, start: app(environ, start), threaded=True)
    except OSError:
        if port == 0:
            raise
        print(f"port {port} is taken; using a free one")
        server = make_server(host, 0, lambda environ, start: app(environ, start), threaded=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{shown}:{server.server_port}/"
    world = World(stack, url, lang)
    hanako = world.accounts["default"].add_friend("山田 花子", "🌸", "#f48fb1", follow=False)["chat"]
    seed_friend_data(stack.env, stack.run_file("friends.csv"), {hanako: "山田 花子"})
    app = create_app(world)
    other = "--lang ja for Japanese" if lang == "en" else "--lang en for English"
    print(f"\nSandbox page: {url}\n  left: LINE as a friend sees it · right: the Slack triage channel"
          " · Ctrl-C to stop"
          f"\n  staff @佐藤 is an admin (/canned add); the bridge writes in BRIDGE_LANGUAGE={lang} ({other})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
