"""The domain's composition root: the capability components and the one table of work kinds.

A work item taken from a stream (:mod:`bridge.inbox`) is dispatched by its ``kind``
through :attr:`Domain.handlers`; nothing else in the code base switches on kinds.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from bridge import work
from bridge.friends.broadcast import Broadcasts
from bridge.friends.exports import Exports
from bridge.friends.ops import Friends
from bridge.model import DeliveryFailed
from bridge.ports import ForwardPort
from bridge.relay.delivery import Delivery
from bridge.relay.forward import Forwarder
from bridge.relay.line_in import LineIn
from bridge.relay.portal import Portals
from bridge.relay.slack_in import SlackIn
from bridge.services import Services
from bridge.triage.ops import Triage

log = logging.getLogger(__name__)


class Domain:
    """One instance per process (see :mod:`bridge.runtime`)."""

    def __init__(self, services: Services, forward_port: ForwardPort | None = None):
        self.services = services
        self.portals = Portals(services)
        self.triage = Triage(services, self.portals.request_parent_refresh)
        self.delivery = Delivery(services)
        self.line_in = LineIn(services, self.portals, self.triage)
        self.slack_in = SlackIn(services, self.portals, self.delivery)
        self.forwarder = Forwarder(services, forward_port)
        self.friends = Friends(services, self.portals.request_parent_refresh)
        self.broadcasts = Broadcasts(services)
        self.exports = Exports(services)
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            work.LINE_EVENT: self.line_in.handle_item,
            work.SLACK_MESSAGE: self.slack_in.handle_item,
            work.SLACK_OP: self.triage.handle_item,
            work.FORWARD: self.forwarder.handle_item,
            work.FRIEND_EDIT: self.friends.handle_item,
            work.BROADCAST: self.broadcasts.handle_item,
            work.EXPORT: self.exports.handle_item,
        }

    def process_item(self, item: dict[str, Any]) -> None:
        handler = self.handlers.get(item.get("kind") or "")
        if handler is None:
            log.warning("ignoring work item of unknown kind %r", item.get("kind"))
            return
        handler(item.get("payload") or {})

    def dead_letter(self, item: dict[str, Any], reason: str) -> None:
        """Called when an item kept failing: keep it for inspection and tell people where we can."""
        self.services.store.add_dead_letter(item, reason, time.time())
        if item.get("kind") == work.SLACK_MESSAGE:
            event = item["payload"]
            self.delivery.report_failure(event["channel"], event["ts"], event.get("thread_ts") or "",
                                         DeliveryFailed("gave_up", reason))
