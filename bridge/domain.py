"""The domain's composition root: the capability components and the one table of work kinds.

A work item taken from a stream (:mod:`bridge.engine.inbox`) is dispatched by its ``kind``
through :attr:`Domain.handlers`; nothing else in the code base switches on kinds. Every
component gets its collaborators here, in its constructor; the queue and the parent
refresh job are ports the runtime implements (:mod:`bridge.ports`).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from bridge import metrics
from bridge.engine import work
from bridge.archive.jobs import MediaArchiving
from bridge.automation import Automation
from bridge.config.automation_model import AutomationConfig
from bridge.friends.broadcast import Broadcasts
from bridge.friends.exports import Exports
from bridge.friends.ops import Friends
from bridge.logs import TRACE
from bridge.model import DeliveryFailed, RetryLater
from bridge.ports import ForwardPort, RefreshQueue, WorkQueue
from bridge.privacy.forget import Forgetting
from bridge.privacy.retention import Retention
from bridge.relay.canned_pick import CannedPicks
from bridge.relay.canned_send import CannedSend
from bridge.relay.deadletter import DeadLetters
from bridge.relay.decorations import Decorations
from bridge.relay.delivery import Delivery
from bridge.relay.edits import Edits
from bridge.relay.forward import Forwarder
from bridge.relay.line_head import FriendBatches
from bridge.relay.line_in import LineIn
from bridge.relay.portal import ParentRefresh, Portals
from bridge.relay.quota import QuotaMeter
from bridge.relay.reply import Replies
from bridge.relay.slack_in import SlackIn
from bridge.relay.undo import UndoWindow
from bridge.services import Services
from bridge.triage.ops import Triage

log = logging.getLogger(__name__)

# Exceptions that mean "this item's data is not what the code expects" (never a platform or
# Redis outage: those are RetryLater, redis.RedisError or OSError and are retried).
POISON = (TypeError, AttributeError, KeyError, IndexError, ValueError, UnicodeError, RecursionError)


class Domain:
    """One instance per process (see :mod:`bridge.runtime`).

    ``queue`` None (in-process use): nothing is queued — marks are added at once, a reply is
    sent without its undo window, no SLA alerts or reminders are queued."""

    def __init__(self, services: Services, refreshes: RefreshQueue, queue: WorkQueue | None,
                 forward_port: ForwardPort | None = None, automation: AutomationConfig | None = None):
        self.services = services
        self.parents = ParentRefresh(services, refreshes)
        # Business hours, auto-replies, SLA alerts (bridge/automation): told by the relay and triage, shown on the parent.
        self.automation = Automation(services, automation or AutomationConfig(), queue, self.parents)
        self.portals = Portals(services, self.automation, self.parents)
        self.triage = Triage(services, self.parents, observers=[self.automation])
        # inbound: LINE → Slack
        self.line_in = LineIn(services, self.portals, self.parents, self.triage, self.automation, queue)
        self.batches = FriendBatches(services, self.line_in)
        # outbound: Slack → LINE
        self.decorations = Decorations(services, queue)  # 🆓/🔢/❌ on staff replies, off the replies' path
        self.delivery = Delivery(services, self.decorations, QuotaMeter(services))
        held = services.stores.held
        self.undo = UndoWindow(services, held, self.decorations, queue)
        self.canned = CannedSend(services, held)  # !key: expanded once, shown while the reply waits
        self.replies = Replies(services, self.undo, self.canned, self.delivery, self.decorations, self.automation,
                               self.parents, queue)
        self.slack_in = SlackIn(services, self.replies)
        self.canned_picks = CannedPicks(services, self.canned, self.replies, self.decorations)  # 定型文 picked in the modal
        self.edits = Edits(services, held, self.canned, self.delivery, self.decorations)
        self.forwarder = Forwarder(services, forward_port)
        self.dead_letters = DeadLetters(services, self.delivery)
        self.friends = Friends(services, self.parents)
        self.broadcasts = Broadcasts(services)
        self.exports = Exports(services)
        self.archiving = MediaArchiving(services)  # staff files into the media archive, off the relay's path
        self.forgetting = Forgetting(services, services.archive, self.parents)  # a friend's data deleted on request
        self.retention = Retention(services, services.archive)    # retention_days (daily job)
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            work.LINE_EVENT: self.line_in.handle_item,
            work.SLACK_MESSAGE: self.slack_in.handle_item,
            work.SLACK_OP: self.triage.handle_item,
            work.SLACK_EDIT: self.edits.handle_item,
            work.CANNED_PICK: self.canned_picks.handle_item,
            work.DECORATE: self.decorations.handle_item,
            work.IMAGE_SET_DUE: self.line_in.handle_image_set_due,
            work.FORWARD: self.forwarder.handle_item,
            work.SLA_ALERT: self.automation.sla.handle_item,
            work.REMINDER: self.automation.reminders.handle_item,
            work.AUTOMATION_OP: self.automation.reminders.switch,
            work.AUTO_ASSIGN: self.automation.assignment.handle_item,
            work.FRIEND_EDIT: self.friends.handle_item,
            work.BROADCAST: self.broadcasts.handle_item,
            work.EXPORT: self.exports.handle_item,
            work.ARCHIVE_MEDIA: self.archiving.handle_item,
            work.FORGET: self.forgetting.handle_item,
        }

    def process_item(self, item: dict[str, Any]) -> None:
        self._guarded(item, lambda: self._dispatch(item))

    def process_head(self, items: list[dict[str, Any]]) -> int:
        """The inbox's batch hook: waiting friend messages go out as one Slack message; returns items taken.

        Only a stream with LINE events waiting goes through the friend batching (other streams, such
        as a thread's staff replies, never do)."""
        if not any(item.get("kind") == work.LINE_EVENT for item in items):
            self.process_item(items[0])
            return 1
        taken: list[int] = [1]

        def run() -> None:
            taken[0] = self.batches.process_head(items)
            if not taken[0]:  # the head is other work
                self._dispatch(items[0])
                taken[0] = 1
        self._guarded(items[0], run)
        return taken[0]

    def _dispatch(self, item: dict[str, Any]) -> None:
        handler = self.handlers.get(item.get("kind") or "")
        if handler is None:
            log.warning("ignoring work item of unknown kind %r", item.get("kind"))
            return
        payload = item.get("payload")
        handler(payload if isinstance(payload, dict) else {})

    def _guarded(self, item: dict[str, Any], run: Callable[[], Any]) -> None:
        """Run the work of ``item`` with its trace id, counting the outcome; malformed input fails fast."""
        trace = TRACE.set(str(item.get("id") or ""))  # every log line of this item carries its id
        kind = str(item.get("kind"))
        try:
            run()
            log.info("%s item processed", kind)
            metrics.delivery(kind, "ok")
        except RetryLater as exc:
            metrics.delivery(kind, "throttled" if exc.throttled else "retry")
            if exc.throttled:
                metrics.rate_limit_wait(exc.reason.split(":")[0][:40], exc.delay)
            raise
        except DeliveryFailed:
            metrics.delivery(kind, "failed")
            raise
        except POISON as exc:
            metrics.delivery(kind, "malformed")
            # Input the domain cannot process (a wrong type or shape from a hostile or broken
            # sender): retrying cannot cure it, so it is set aside at once, visibly (dead letter),
            # instead of blocking its conversation while retried for minutes.
            log.warning("work item %s is malformed (%s: %s); set aside", item.get("id"), type(exc).__name__, exc)
            raise DeliveryFailed("malformed_input", f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        except Exception:
            metrics.delivery(kind, "error")
            raise
        finally:
            TRACE.reset(trace)

    def dead_letter(self, item: dict[str, Any], reason: str) -> None:
        """Called when an item kept failing: keep it for inspection and tell people in Slack."""
        metrics.dead_letter(str(item.get("kind")))
        self.dead_letters.dead_letter(item, reason)
