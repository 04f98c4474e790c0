"""``POST /slack/events``: slack-bolt verifies every request, our listeners translate and enqueue.

Listeners are registered per type, one module each (events, actions, commands,
shortcuts). They only translate: pick the primitives a job needs, enqueue them, ack.
The only Slack calls made while handling a request are the ones Slack requires to be
made within its 3-second window (views.open with a trigger_id, responding to /pending).
"""
from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bridge.runtime import Runtime
from handlers.slack import actions, broadcast, canned, commands, events, export, friends, shortcuts


def create_bolt_app(rt: Runtime) -> App:
    settings = rt.settings
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base_url, timeout=10)
    app = App(
        signing_secret=settings.slack_signing_secret,
        client=client,
        # Listeners only enqueue (milliseconds), so ack after they ran: nothing is lost if
        # enqueueing fails (Slack retries) and no background threads are needed.
        process_before_response=True,
    )
    actions.register(app, rt)
    commands.register(app, rt)
    shortcuts.register(app, rt)
    friends.register(app, rt)
    canned.register(app, rt)
    broadcast.register(app, rt)
    export.register(app, rt)
    events.register(app, rt)  # last: it ends with a catch-all for unhandled event types
    return app
