"""Who a segment broadcast reaches: 1:1 friends of one account, by 友だち情報 terms and marks.

Friends known to have blocked the account (``unfollow``) are excluded and counted apart;
groups and rooms are never included (multicast is for user ids only).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bridge.friends.store import FriendStore
from bridge.store import Store

BATCH = 1000

# Filter a set of conversation ids server-side (one round trip instead of one HMGET per
# candidate): KEYS[1] the set; ARGV: conv key prefix, account, "m" when marks filter,
# "1" when unknown marks count as allowed (they act as default_open), #allowed, allowed…, known…
# Returns {blocked count, line ids…}.
_FILTER = """
local n = tonumber(ARGV[5])
local allowed, known = {}, {}
for i = 6, 5 + n do allowed[ARGV[i]] = true end
for i = 6 + n, #ARGV do known[ARGV[i]] = true end
local out, blocked = {0}, 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('HMGET', ARGV[1] .. id, 'source_type', 'blocked', 'mark', 'line_id', 'account')
  if v[1] == 'user' and v[4] and v[4] ~= '' and v[5] == ARGV[2] then
    local m = v[3] or ''
    if ARGV[3] ~= 'm' or allowed[m] or (ARGV[4] == '1' and not known[m]) then
      if v[2] == '1' then blocked = blocked + 1 else out[#out + 1] = v[4] end
    end
  end
end
out[1] = blocked
return out
"""


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


def audience(store: Store, segment: Segment, effective_mark=lambda k: k, marks=None) -> Audience:
    """The segment's recipients now. With terms: the terms' intersection filtered by one Lua
    script (one round trip; Redis is busy ~1 µs per candidate). Without terms: a SCAN of the
    account's conversations and one pipelined HMGET per 1,000 of them. ``marks`` (the MarkSet)
    lets the script treat unknown mark keys as ``default_open``, as everywhere else."""
    if segment.terms and marks is not None:
        restrict = FriendStore(store.r, store.keys).restriction(segment.account, list(segment.terms))
        chosen = list(segment.marks)
        known = [m.key for m in marks.ordered()]
        unknown_ok = "1" if marks.default_open in chosen else "0"
        got = store.r.eval(_FILTER, 1, restrict, store.keys.conv(conv_id=""), segment.account,
                           "m" if chosen else "", unknown_ok, len(chosen), *chosen, *known)
        return Audience(user_ids=sorted(got[1:]), blocked=int(got[0]))
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
