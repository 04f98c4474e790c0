"""``POST /slack/events``: slack-bolt verifies every request, our listeners translate and enqueue.

Listeners are registered per type, one module each (events, actions, commands,
shortcuts). They only translate: pick the primitives a job needs, enqueue them, ack.
The only Slack calls made while handling a request are the ones Slack requires to be
made within its 3-second window (views.open with a trigger_id, responding to /pending).
"""
from __future__ import annotations

import logging

import redis
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bridge.runtime import Runtime
from handlers.slack import (actions, broadcast, canned, commands, events, export, forget, friends, history, home,
                           shortcuts)

log = logging.getLogger(__name__)


class _TokenUnused(logging.Filter):
    """bolt warns at every start that the SLACK_BOT_TOKEN it finds in the environment is unused when
    a client is given; that is what we want (our client points at SLACK_API_BASE_URL): not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_TokenUnused())


def answer_error(error: Exception) -> BoltResponse:
    """A listener or middleware raised. Redis down: 503, so Slack retries later. Anything
    else comes from a (signed) request whose shape we don't understand: retrying cannot
    help, so answer 400 rather than bolt's default 500."""
    if isinstance(error, (redis.RedisError, OSError)):
        log.error("Slack request not queued, Redis unavailable: %s", error)
        return BoltResponse(status=503, body="")
    log.warning("Slack request not handled (%s: %s)", type(error).__name__, str(error)[:200])
    return BoltResponse(status=400, body="")


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
    app.error(answer_error)
    actions.register(app, rt)
    commands.register(app, rt)
    shortcuts.register(app, rt)
    home.register(app, rt)  # App Home dashboard and the on-duty switch (bridge.automation)
    friends.register(app, rt)
    forget.register(app, rt)  # admins: delete a friend's data (bridge.privacy.forget)
    canned.register(app, rt)
    broadcast.register(app, rt)
    export.register(app, rt)
    history.register(app, rt)  # /history and the parent's 📜 button: a personal link to the history page
    events.register(app, rt)  # last: it ends with a catch-all for unhandled event types
    return app
