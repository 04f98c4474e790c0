"""Signed, expiring, unguessable media links: ``<PUBLIC_BASE_URL>/media/<token>[/<name>]``.

The token is an itsdangerous (Flask's own signing library) timed signature over the Slack
file id and the variant to serve; nothing is stored in Redis. The key is
``BRIDGE_MEDIA_SECRET`` or, when unset, derived from the Slack signing secret.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bridge.settings import Settings

VARIANTS = ("orig", "jpeg", "preview", "still", "dl")  # original, converted, ≤1 MB preview, video still, download


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    secret = settings.media_secret or hmac.new(settings.slack_signing_secret.encode(), b"lsb-media-links",
                                               hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(secret, salt="lsb-media")


def media_url(settings: Settings, file_id: str, variant: str, name: str = "") -> str:
    assert variant in VARIANTS
    token = _serializer(settings).dumps([file_id, variant])
    tail = "/" + quote(name[:80], safe="") if name else ""
    return f"{settings.public_base_url.rstrip('/')}/media/{token}{tail}"


class LinkInvalid(Exception):
    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def read_link(settings: Settings, token: str) -> tuple[str, str, float]:
    """(Slack file id, variant, seconds the link has left) of a valid token; :class:`LinkInvalid` otherwise."""
    try:
        value, signed_at = _serializer(settings).loads(token, max_age=settings.media_link_ttl, return_timestamp=True)
    except SignatureExpired:
        raise LinkInvalid(expired=True) from None
    except BadSignature:
        raise LinkInvalid(expired=False) from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
            and value[1] in VARIANTS):
        raise LinkInvalid(expired=False)
    left = settings.media_link_ttl - (time.time() - signed_at.timestamp())
    return value[0], value[1], max(0.0, left)


def read_token(settings: Settings, token: str) -> tuple[str, str]:
    """(Slack file id, variant) of a valid token; :class:`LinkInvalid` otherwise."""
    file_id, variant, _left = read_link(settings, token)
    return file_id, variant
