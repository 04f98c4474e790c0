"""/friend and the 友だち情報 filters of /pending, answered from the index sets (no scans).

Terms: ``tag:VIP`` (also ``タグ:VIP``) and ``<field>:<value>`` where ``<field>`` is a field's
key or its Japanese/English name (``会員番号:A-1001``); values are compared NFKC and
case-insensitively, whole value. Free text finds conversations whose name starts with it,
whose number it is (``12`` / ``#12``), or with a field value or a tag equal to it.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from bridge.friends.config import CrmConfig
from bridge.friends.store import FriendStore
from bridge.friends.values import FriendData, norm
from bridge.store import Store

NUMBER = re.compile(r"^#?(\d{1,9})$")
TAG_PREFIXES = ("tag", "タグ", "tags")


def parse_term(word: str, crm: CrmConfig, accounts: list[str]) -> tuple[str, str] | None:
    """("tag", value) or (field key, value) for a ``name:value`` word naming a tag or a field; else None."""
    text = unicodedata.normalize("NFKC", word)
    name, sep, value = text.partition(":")
    if not sep or not value.strip() or not name.strip():
        return None
    if norm(name) in TAG_PREFIXES:
        return ("tag", value.strip())
    for account in accounts:
        fdef = crm.find_field(account, name)
        if fdef is not None:
            return (fdef.key, value.strip())
    return None


def split_terms(text: str, crm: CrmConfig, accounts: list[str]) -> tuple[list[tuple[str, str]], str]:
    """The 友だち情報 terms of a command text, and the rest of the text."""
    terms: list[tuple[str, str]] = []
    rest: list[str] = []
    for word in (text or "").split():
        term = parse_term(word, crm, accounts)
        if term is None:
            rest.append(word)
        else:
            terms.append(term)
    return terms, " ".join(rest)


def encode_terms(terms: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(f"{k}:{v}" for k, v in terms)


def decode_terms(encoded: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(k, v) for k, _, v in (x.partition(":") for x in encoded)]


CAP = 200     # candidates read per source (name prefix, a tag's members…): answers stay O(CAP), not O(matches)


def _some(r, key: str, n: int) -> list[str]:
    """Up to ``n`` members of a set without reading all of it."""
    out: list[str] = []
    for member in r.sscan_iter(key, count=max(n, 100)):
        out.append(member)
        if len(out) >= n:
            break
    return out


def find(store: Store, crm: CrmConfig, accounts: list[str], query: str, limit: int = 50) -> tuple[list[str], int]:
    """Conversation ids (of ``accounts``) matching ``query`` — terms AND free text — at most ``limit`` of
    them, and how many match in all (for free text: among the first candidates of each source)."""
    friends = FriendStore(store.r, store.keys)
    terms, free = split_terms(query, crm, accounts)
    free = free.strip()
    found: list[str] = []
    total = 0
    for account in accounts:
        restrict = friends.restriction(account, terms) if terms else None
        if not free:
            total += int(store.r.scard(restrict))
            found += _some(store.r, restrict, limit)
            continue
        hits: dict[str, None] = dict.fromkeys(friends.by_name_prefix(account, free, limit=CAP))
        m = NUMBER.match(unicodedata.normalize("NFKC", free))
        if m:
            conv_id = store.r.hget(store.keys.conv_by_number(), m.group(1))
            if conv_id and conv_id.startswith(f"{account}-"):
                hits[conv_id] = None
        keys = [friends.term_key(account, (f.key, free)) for f in crm.fields_of(account)]
        keys.append(friends.term_key(account, ("tag", free)))
        for key in keys:
            hits.update(dict.fromkeys(_some(store.r, key, CAP)))
        candidates = list(hits)
        if restrict and candidates:
            candidates = [c for c, ok in zip(candidates, store.r.smismember(restrict, candidates)) if ok]
        total += len(candidates)
        found += candidates
    return found[:limit], total


def load_rows(store: Store, conv_ids: list[str]) -> list[tuple[Any, FriendData]]:
    """The conversations and their 友だち情報, in one round trip, ordered by number."""
    from bridge.model import Conversation

    pipe = store.r.pipeline(transaction=False)
    for conv_id in conv_ids:
        pipe.hgetall(store.keys.conv(conv_id=conv_id))
    convs = [Conversation.from_hash(d) if d else None for d in pipe.execute()]
    friends = FriendStore(store.r, store.keys)
    pairs = [(c, d) for c, d in zip(convs, friends.get_many(conv_ids)) if c is not None]
    return sorted(pairs, key=lambda p: p[0].number)
