"""Who may see and change triage state: members of the conversation's triage channel.

Friends' names and messages are personal data, so every read (``/pending``, the "more"
button) and every change (claims, marks, …) checks membership. Used by the web process
(before answering) and by the workers (before applying a change).
"""
from __future__ import annotations

from bridge.ports import SlackPort
from bridge.store import Store

MEMBERS_TTL = 300  # seconds a triage channel's member list is cached


def is_channel_member(store: Store, slack: SlackPort, user_id: str, channel: str) -> bool:
    """Is ``user_id`` a member of ``channel``? (member lists cached for 5 minutes)."""
    members = store.channel_members(channel)
    if members is None:
        listed = slack.channel_members(channel)
        store.cache_channel_members(channel, listed, MEMBERS_TTL)
        members = set(listed)
    return user_id in members


def visible_channels(store: Store, slack: SlackPort, user_id: str, channels: set[str]) -> set[str]:
    """The triage channels ``user_id`` is a member of."""
    return {c for c in channels if is_channel_member(store, slack, user_id, c)}
