"""Where the bot token may be sent: Slack's own file hosts, and nowhere else.

A Slack file object's ``url_private`` is not always Slack's: for a remote file (Google
Drive, Dropbox, anything added with ``files.remote.add``) it is the external URL whoever
registered the file chose. A download that trusts it sends ``Authorization: Bearer xoxb-…``
to that host and hands back its answer (an SSRF reaching, say, a cloud metadata address).
So every request that carries the token, or that sends a friend's file to a URL Slack
returned, asks :class:`FileHosts` first. One rule, one place:

* production (``SLACK_API_BASE_URL`` is Slack's default): ``https`` to a host in
  :data:`SLACK_FILE_HOSTS` on the default port, every address it resolves to public
  (no private, loopback, link-local, shared, reserved or multicast address);
* a configured, non-default Slack base (the emulator in tests, a proxy): that base's own
  origin (scheme, host, port) only; its addresses are not checked (the emulator is local).

URLs with credentials (``user@host``) are refused. Redirects are never followed
automatically by the callers; each hop is checked here again.
https://docs.slack.dev/messaging/working-with-files#authenticating
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any, Callable
from urllib.parse import urlsplit

from bridge.model import DeliveryFailed, RetryLater
from bridge.settings import SLACK_DEFAULT_API, Settings

#: The hosts Slack serves ``url_private``, ``url_private_download``, ``thumb_*`` and upload URLs from.
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})

Resolver = Callable[..., list[Any]]


def is_remote_file(info: dict[str, Any]) -> bool:
    """A remote file (``files.remote.add``, Google Drive, Dropbox…): its ``url_private`` is not Slack's."""
    return bool(info.get("is_external") or info.get("external_type") or info.get("mode") == "external"
                or info.get("external_url"))


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class FileHosts:
    def __init__(self, settings: Settings, resolve: Resolver = socket.getaddrinfo):
        self.production = settings.slack_api_base_url.rstrip("/") == SLACK_DEFAULT_API.rstrip("/")
        base = urlsplit(settings.slack_api_base_url)
        self.base_origin = (base.scheme, (base.hostname or "").lower(), base.port or _default_port(base.scheme))
        self.resolve = resolve

    def refusal(self, url: str) -> str:
        """Why the token must not go to ``url`` ("" when it may)."""
        if not isinstance(url, str) or not url:
            return "no URL"
        try:
            parts = urlsplit(url)
            port = parts.port or _default_port(parts.scheme)
        except ValueError:
            return "malformed URL"
        host = (parts.hostname or "").lower()
        if not host or parts.username is not None or parts.password is not None:
            return "no host, or credentials in the URL"
        if not self.production:
            return "" if (parts.scheme, host, port) == self.base_origin else f"{host}:{port} is not the configured Slack host"
        if parts.scheme != "https" or port != 443:
            return f"{parts.scheme}://{host}:{port} is not HTTPS on the default port"
        if host not in SLACK_FILE_HOSTS:
            return f"{host} is not a Slack file host"
        return self._address_refusal(host)

    def _address_refusal(self, host: str) -> str:
        try:
            infos = self.resolve(host, 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise RetryLater(f"Slack file host {host}: {type(exc).__name__}", delay=5) from exc
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            mapped = getattr(addr, "ipv4_mapped", None)
            addr = mapped or addr
            if not addr.is_global or addr.is_multicast:
                return f"{host} resolves to a non-public address ({addr})"
        return "" if infos else f"{host} has no address"

    def check(self, url: str) -> None:
        """Raise :class:`DeliveryFailed` (``file_host_refused``) unless the token may go to ``url``."""
        why = self.refusal(url)
        if why:
            raise DeliveryFailed("file_host_refused", why)
