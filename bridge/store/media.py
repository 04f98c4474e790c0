"""Media relay state: imageSets being collected, attempts of a media relay."""
from __future__ import annotations

from bridge.store.core import Store

IMAGE_SET_TTL = 24 * 3600


def collect_image_set(store: Store, account: str, set_id: str, index: int, message_id: str) -> dict[int, str]:
    """Add one image of an ``imageSet``; returns every member seen so far (index -> LINE message id)."""
    key = store.keys.image_set(account=account, set_id=set_id)
    pipe = store.r.pipeline()
    pipe.hset(key, str(index), message_id)
    pipe.expire(key, IMAGE_SET_TTL)
    pipe.hgetall(key)
    return {int(k): v for k, v in pipe.execute()[-1].items()}


def count_media_attempt(store: Store, media_key: str) -> int:
    return int(store.r.hincrby(store.keys.media(media_key=media_key), "attempts", 1))

