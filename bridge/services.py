"""The shared services every domain component works with, wired once per process."""
from __future__ import annotations

from dataclasses import dataclass, field

from bridge.accounts import Account, AccountSet
from bridge.archive.media import MediaArchive
from bridge.friends.config import CrmConfig
from bridge.media.cache import VariantCache
from bridge.model import Conversation
from bridge.ports import LineDirectory, LinePort, SlackPort
from bridge.settings import Settings
from bridge.store import Store
from bridge.store.backlog import Backlog
from bridge.store.stores import Stores
from bridge.triage.marks import MarkSet


@dataclass(frozen=True)
class Services:
    settings: Settings
    accounts: AccountSet
    store: Store
    slack: SlackPort
    lines: LineDirectory
    marks: MarkSet
    backlog: Backlog
    stores: Stores     # friends, 定型文, automation, broadcasts, held sends (bridge.store)
    crm: CrmConfig = field(default_factory=CrmConfig)  # 友だち情報 fields, 定型文, admins (none: no config file)
    archive: MediaArchive | None = None  # the media archive (bridge.archive.media); None: media are not archived
    media_cache: VariantCache | None = None  # staff files' originals, downloaded once for LINE and the archive


class Component:
    """Base of the domain components: exposes the services as attributes."""

    def __init__(self, services: Services):
        self.services = services
        self.settings = services.settings
        self.accounts = services.accounts
        self.store = services.store
        self.slack = services.slack
        self.marks = services.marks
        self.backlog = services.backlog
        self.lang = services.settings.language

    def line_of(self, conv: Conversation) -> LinePort:
        """The LINE port of the conversation's account."""
        return self.services.lines.of(conv.account)

    def account_of(self, conv: Conversation) -> Account:
        return self.accounts.require(conv.account)
