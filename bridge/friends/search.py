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


def find(store: Store, crm: CrmConfig, accounts: list[str], query: str) -> list[str]:
    """The conversation ids (of ``accounts``) matching ``query``; terms AND free text."""
    friends = FriendStore(store.r, store.keys)
    terms, free = split_terms(query, crm, accounts)
    free = free.strip()
    found: set[str] = set()
    for account in accounts:
        matched: set[str] | None = friends.members(account, terms) if terms else None
        if free:
            hits: set[str] = set(friends.by_name_prefix(account, free, limit=200))
            m = NUMBER.match(unicodedata.normalize("NFKC", free))
            if m:
                conv = store.get_by_number(m.group(1))
                if conv is not None and conv.account == account:
                    hits.add(conv.conv_id)
            pipe = store.r.pipeline(transaction=False)
            for fdef in crm.fields_of(account):
                pipe.smembers(friends.term_key(account, (fdef.key, free)))
            pipe.smembers(friends.term_key(account, ("tag", free)))
            for members in pipe.execute():
                hits |= set(members)
            matched = hits if matched is None else matched & hits
        found |= matched or set()
    return sorted(found)


def load_rows(store: Store, conv_ids: list[str]) -> list[tuple[Any, FriendData]]:
    friends = FriendStore(store.r, store.keys)
    convs = [store.get_conversation(c) for c in conv_ids]
    pairs = [(c, d) for c, d in zip(convs, friends.get_many(conv_ids)) if c is not None]
    return sorted(pairs, key=lambda p: p[0].number)
