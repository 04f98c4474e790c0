"""Slack people and channels: names, icons, handles, user groups, presence, channel members (cached).

Mixed into :class:`bridge.slack.gateway.SlackGateway` (which provides ``_call``, ``client`` and
``store``): the directory the relay, triage and automation read people from, apart from posting.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from bridge.model import DeliveryFailed, RetryLater

log = logging.getLogger(__name__)

USER_CACHE_TTL = 24 * 3600
GROUP_CACHE_TTL = 300          # a user group's members are read again this often (usergroups.users.list)
GROUP_RETRY_TTL = 60           # after a failed read, the last known members are used this long before retrying
GROUP_LAST_TTL = 30 * 86400    # the last known members, kept as the fallback


class SlackDirectoryMixin:
    def user_name(self, user_id: str) -> str | None:
        """A Slack user's display name (cached), for turning mentions into plain text."""
        cached = self.store.cache_get(self.store.keys.slack_user(user_id=user_id))
        if cached is None:
            self._fetch_user(user_id)
            cached = self.store.cache_get(self.store.keys.slack_user(user_id=user_id))
        return cached or None

    def user_icon(self, user_id: str) -> str | None:
        """A Slack user's profile picture (cached): posts the bridge makes for a person (定型文 picked in the modal)."""
        cached = self.store.cache_get(self.store.keys.slack_user_icon(user_id=user_id))
        if cached is None:
            self._fetch_user(user_id)
            cached = self.store.cache_get(self.store.keys.slack_user_icon(user_id=user_id))
        return cached or None

    def _fetch_user(self, user_id: str) -> None:
        name_key, icon_key = self.store.keys.slack_user(user_id=user_id), self.store.keys.slack_user_icon(user_id=user_id)
        try:
            resp = self._call("users.info", self.client.users_info, user=user_id)
        except DeliveryFailed:
            self.store.cache_set(name_key, "", 300)
            self.store.cache_set(icon_key, "", 300)
            return
        user = resp.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or ""
        self.store.cache_set(name_key, name, USER_CACHE_TTL)
        self.store.cache_set(icon_key, profile.get("image_72") or profile.get("image_48") or "", USER_CACHE_TTL)

    def user_handle(self, user_id: str) -> str:
        """A Slack user's handle (``name``, usually ASCII; cached), "" when unknown."""
        key = self.store.keys.slack_handle(user_id=user_id)
        cached = self.store.cache_get(key)
        if cached is not None:
            return cached
        try:
            user = self._call("users.info", self.client.users_info, user=user_id).get("user") or {}
        except (DeliveryFailed, RetryLater):
            return ""
        handle = str(user.get("name") or "")
        self.store.cache_set(key, handle, USER_CACHE_TTL)
        return handle

    def usergroup_members(self, group: str) -> list[str]:
        """Members of a Slack user group (``usergroups.users.list``, scope usergroups:read), cached for
        ``GROUP_CACHE_TTL``. When Slack fails, the last list read successfully (logged; [] if none)."""
        key, last_key = self.store.keys.usergroup(group=group), self.store.keys.usergroup_last(group=group)
        cached = self.store.cache_get(key)
        if cached is not None:
            return list(json.loads(cached))
        try:
            resp = self._call("usergroups.users.list", self.client.usergroups_users_list, usergroup=group)
        except (DeliveryFailed, RetryLater) as exc:
            last = self.store.cache_get(last_key) or "[]"
            log.warning("user group %s: could not read its members (%s); using the last known list (%d)",
                        group, exc, len(json.loads(last)))
            self.store.cache_set(key, last, GROUP_RETRY_TTL)
            return list(json.loads(last))
        value = json.dumps([str(u) for u in resp.get("users") or []])
        self.store.cache_set(key, value, GROUP_CACHE_TTL)
        self.store.cache_set(last_key, value, GROUP_LAST_TTL)
        return list(json.loads(value))

    def presence(self, user_id: str) -> str:
        """"active" or "away" (users.getPresence); "active" when Slack cannot tell (never blocks assignment)."""
        try:
            resp = self._call("users.getPresence", self.client.users_getPresence, user=user_id)
        except (DeliveryFailed, RetryLater):
            return "active"
        return str(resp.get("presence") or "active")

    def channel_members(self, channel: str) -> list[str]:
        """Every member of ``channel`` (conversations.members, paginated)."""
        members: list[str] = []
        cursor = None
        while True:
            kwargs: dict[str, Any] = {"channel": channel, "limit": 1000}
            if cursor:
                kwargs["cursor"] = cursor
            resp = self._call("conversations.members", self.client.conversations_members, **kwargs)
            members += resp.get("members") or []
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members
