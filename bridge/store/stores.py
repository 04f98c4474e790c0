"""Every store of one namespace, built once per process (:attr:`bridge.runtime.Runtime.stores`) and
handed to the domain (``Services.stores``) and to the web handlers."""
from __future__ import annotations

from bridge.store.automation import AutomationStore
from bridge.store.backlog import Backlog
from bridge.store.broadcasts import BroadcastStore
from bridge.store.canned import CannedTexts
from bridge.store.core import Store
from bridge.store.forget import ForgetStore
from bridge.store.forget_groups import GroupArchives
from bridge.store.friends import FriendStore
from bridge.store.held import HeldSends


class Stores:
    def __init__(self, store: Store, backlog: Backlog):
        self.conversations = store
        self.backlog = backlog
        self.friends = FriendStore(store.r, store.keys)
        self.canned = CannedTexts(store.r, store.keys)
        self.automation = AutomationStore(store.r, store.keys, backlog)
        self.broadcasts = BroadcastStore(store.r, store.keys)
        self.held = HeldSends(store.r, store.keys)
        self.forget = ForgetStore(store.r, store.keys, backlog,  # retention and forgetting a friend
                                  GroupArchives(store.r, store.keys))
