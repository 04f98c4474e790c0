"""Signed, expiring, personal links to a conversation's history page: ``<PUBLIC_BASE_URL>/history/<token>``.

The token is an itsdangerous timed signature (as for /media links, :mod:`bridge.media.sign`) over
the conversation id and the Slack user it was made for; nothing is stored. It is valid for
``BRIDGE_HISTORY_LINK_TTL`` seconds (default 24 hours) and only for that user while they are a
member of the conversation's triage channel (checked when the page is opened). The link is
personal data: it is never logged (gunicorn's access log redacts ``/history/…``).
"""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bridge.settings import Settings


def _serializer(settings: Settings, signer: type[TimestampSigner] = TimestampSigner) -> URLSafeTimedSerializer:
    secret = settings.media_secret or hmac.new(settings.slack_signing_secret.encode(), b"lsb-history-links",
                                               hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(secret, salt="lsb-history", signer=signer)


def make_token(settings: Settings, conv_id: str, user_id: str, signed_at: float | None = None) -> str:
    """The token of a link; ``signed_at`` (epoch) dates it otherwise than now (tests of expiry)."""
    if signed_at is None:
        return _serializer(settings).dumps([conv_id, user_id])

    class Dated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(signed_at)

    return _serializer(settings, Dated).dumps([conv_id, user_id])


def history_url(settings: Settings, conv_id: str, user_id: str, query: str = "") -> str:
    """The page of ``conv_id`` for ``user_id``; with ``query``, opened at its first match."""
    url = f"{settings.public_base_url.rstrip('/')}/history/{make_token(settings, conv_id, user_id)}"
    return url + (f"?q={quote(query[:100], safe='')}#hit-1" if query else "")


class HistoryLinkInvalid(Exception):
    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def read_token(settings: Settings, token: str) -> tuple[str, str]:
    """(conversation id, Slack user id) of a valid token; :class:`HistoryLinkInvalid` otherwise."""
    try:
        value = _serializer(settings).loads(token, max_age=settings.history_link_ttl)
    except SignatureExpired:
        raise HistoryLinkInvalid(expired=True) from None
    except BadSignature:
        raise HistoryLinkInvalid(expired=False) from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
        raise HistoryLinkInvalid(expired=False)
    return value[0], value[1]
