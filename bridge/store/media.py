"""Media relay state: imageSets being collected, attempts of a media relay."""
from __future__ import annotations

import logging

import redis

from bridge.store.core import Store

log = logging.getLogger(__name__)

IMAGE_SET_TTL = 24 * 3600


def _members(fields: dict[str, str]) -> dict[int, str]:
    return {int(k): v for k, v in fields.items() if k.isdigit()}


def collect_image_set(store: Store, account: str, set_id: str, index: int, message_id: str,
                      now: float = 0.0) -> tuple[dict[int, str], float, bool]:
    """Add one image of an ``imageSet``. Returns every member seen so far (index -> LINE message id),
    when the first one arrived, and whether the set was already shown incomplete (its wait ran out)."""
    key = store.keys.image_set(account=account, set_id=set_id)
    pipe = store.r.pipeline()
    pipe.hset(key, str(index), message_id)
    pipe.hsetnx(key, "first_at", repr(now))
    pipe.expire(key, IMAGE_SET_TTL)
    pipe.hgetall(key)
    fields = pipe.execute()[-1]
    return _members(fields), float(fields.get("first_at") or now), fields.get("partial") == "1"


def image_set_members(store: Store, account: str, set_id: str) -> tuple[dict[int, str], bool]:
    """The members of an ``imageSet`` seen so far, and whether it was shown incomplete already."""
    fields = store.r.hgetall(store.keys.image_set(account=account, set_id=set_id))
    return _members(fields), fields.get("partial") == "1"


def mark_image_set_partial(store: Store, account: str, set_id: str) -> None:
    """The set was shown incomplete: images arriving later are shown on their own."""
    key = store.keys.image_set(account=account, set_id=set_id)
    pipe = store.r.pipeline()
    pipe.hset(key, "partial", "1")
    pipe.expire(key, IMAGE_SET_TTL)
    pipe.execute()


def count_media_attempt(store: Store, media_key: str) -> int:
    return int(store.r.hincrby(store.keys.media(media_key=media_key), "attempts", 1))


def count_media_hit(store: Store, link: str, client: str, window: int) -> tuple[int, int]:
    """Count one ``/media`` request of ``link`` (a hash of the token) by ``client``: (requests in the
    current window, seconds left in it). The window opens at the first request (SET NX EX, then
    INCR, which keeps the expiry), so a burst is never split by a clock boundary. Redis unreachable: (0, 0), the file is
    served (a rate limit must not take media down with it)."""
    key = store.keys.media_hits(link=link, client=client)
    try:
        pipe = store.r.pipeline()
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _set, count, ttl = pipe.execute()
    except redis.RedisError as exc:
        log.warning("media rate limit unavailable: %s", exc)
        return 0, 0
    return int(count), max(1, int(ttl))
