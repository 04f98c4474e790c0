"""The shared services every domain component works with, wired once per process."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.backlog import Backlog
from bridge.marks import MarkSet
from bridge.settings import Settings
from bridge.store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    slack: Any      # bridge.domain.SlackPort (the Slack gateway)
    line: Any       # bridge.domain.LinePort (the LINE gateway)
    marks: MarkSet
    backlog: Backlog


class Component:
    """Base of the domain components: exposes the services as attributes."""

    def __init__(self, services: Services):
        self.services = services
        self.settings = services.settings
        self.store = services.store
        self.slack = services.slack
        self.line = services.line
        self.marks = services.marks
        self.backlog = services.backlog
        self.lang = services.settings.language
        self.channel = services.settings.slack_triage_channel
