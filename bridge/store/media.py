"""Media relay state: imageSets being collected, attempts of a media relay, forgetting unsent text."""
from __future__ import annotations

from bridge.store.core import Store

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


def forget_line_text(store: Store, account: str, message_id: str) -> None:
    """An unsent message: drop the text kept for quotes (LINE asks not to keep showing it)."""
    store.r.hdel(store.keys.line_msg(account=account, message_id=message_id), "preview")
