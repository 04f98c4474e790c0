"""Who a segment broadcast reaches: 1:1 friends of one account, by 友だち情報 terms and marks.

Friends known to have blocked the account (``unfollow``) are excluded and counted apart;
groups and rooms are never included (multicast is for user ids only).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bridge.friends.store import FriendStore
from bridge.store import Store

BATCH = 1000


@dataclass(frozen=True)
class Segment:
    account: str
    terms: tuple[tuple[str, str], ...] = ()     # ("tag", "VIP"), ("wish", "賃貸"): all must match
    marks: tuple[str, ...] = ()                 # any of these (effective) marks; () = any mark

    def to_json(self) -> dict:
        return {"account": self.account, "terms": [list(t) for t in self.terms], "marks": list(self.marks)}

    @classmethod
    def from_json(cls, data: dict) -> "Segment":
        return cls(account=data["account"], terms=tuple((k, v) for k, v in data.get("terms") or []),
                   marks=tuple(data.get("marks") or ()))


@dataclass
class Audience:
    user_ids: list[str] = field(default_factory=list)   # LINE user ids, sorted (the frozen recipient list)
    blocked: int = 0                                     # matched but blocked the account: not sent, never counted


def audience(store: Store, segment: Segment, effective_mark=lambda k: k) -> Audience:
    """The segment's recipients now. Cost: one SINTER for the terms (or a SCAN of the account's
    conversations without terms) and one pipelined HMGET per 1,000 candidates."""
    if segment.terms:
        candidates = sorted(FriendStore(store.r, store.keys).members(segment.account, list(segment.terms)))
    else:
        prefix = store.keys.conv(conv_id="")
        pattern = store.keys.conv(conv_id=f"{segment.account}-*")
        candidates = sorted(k[len(prefix):] for k in store.r.scan_iter(match=pattern, count=2000))
    out = Audience()
    marks = set(segment.marks)
    for i in range(0, len(candidates), BATCH):
        pipe = store.r.pipeline(transaction=False)
        for conv_id in candidates[i:i + BATCH]:
            pipe.hmget(store.keys.conv(conv_id=conv_id), "source_type", "blocked", "mark", "line_id", "account")
        for source_type, blocked, mark, line_id, account in pipe.execute():
            if source_type != "user" or not line_id or account != segment.account:
                continue
            if marks and effective_mark(mark or "") not in marks:
                continue
            if blocked == "1":
                out.blocked += 1
                continue
            out.user_ids.append(line_id)
    out.user_ids.sort()
    return out
