"""/friend and the 友だち情報 filters of /pending, answered from the index sets (no scans).

Terms: ``tag:VIP`` (also ``タグ:VIP``) and ``<field>:<value>`` where ``<field>`` is a field's
key or its Japanese/English name (``会員番号:A-1001``); values are compared NFKC and
case-insensitively, whole value. Free text finds conversations whose name starts with it,
whose number it is (``12`` / ``#12``), or with a field value or a tag equal to it.
"""
from __future__ import annotations

import re
import unicodedata

from bridge.friends.config import CrmConfig
from bridge.friends.values import FriendData, norm
from bridge.model import Conversation
from bridge.store.listing import conversations
from bridge.store.stores import Stores

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


def find(stores: Stores, crm: CrmConfig, accounts: list[str], query: str, limit: int = 50) -> tuple[list[str], int]:
    """Conversation ids (of ``accounts``) matching ``query`` — terms AND free text — at most ``limit`` of
    them, and how many match in all (for free text: among the first candidates of each source)."""
    friends = stores.friends
    terms, free = split_terms(query, crm, accounts)
    free = free.strip()
    found: list[str] = []
    total = 0
    for account in accounts:
        restrict = friends.restriction(account, terms) if terms else None
        if not free:
            total += friends.count(restrict)
            found += friends.sample(restrict, limit)
            continue
        hits: dict[str, None] = dict.fromkeys(friends.by_name_prefix(account, free, limit=CAP))
        m = NUMBER.match(unicodedata.normalize("NFKC", free))
        if m:
            conv = stores.conversations.get_by_number(m.group(1))
            if conv is not None and conv.conv_id.startswith(f"{account}-"):
                hits[conv.conv_id] = None
        keys = [friends.term_key(account, (f.key, free)) for f in crm.fields_of(account)]
        keys.append(friends.term_key(account, ("tag", free)))
        for key in keys:
            hits.update(dict.fromkeys(friends.sample(key, CAP)))
        candidates = list(hits)
        if restrict:
            candidates = friends.within(restrict, candidates)
        total += len(candidates)
        found += candidates
    return found[:limit], total


def load_rows(stores: Stores, conv_ids: list[str]) -> list[tuple[Conversation, FriendData]]:
    """The conversations and their 友だち情報, in two round trips, ordered by number."""
    convs = conversations(stores.conversations, conv_ids)
    pairs = [(c, d) for c, d in zip(convs, stores.friends.get_many(conv_ids)) if c is not None]
    return sorted(pairs, key=lambda p: p[0].number)
