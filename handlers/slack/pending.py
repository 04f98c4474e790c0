"""/pending: read-only, answered inside Slack's 3-second window from the sorted-set indexes."""
from __future__ import annotations

from bridge.runtime import Runtime
from bridge.slack_ui.pending import PendingFilter, render_pending
from handlers.slack.ops import permalink_for


def friend_restrictions(rt: Runtime, accounts: list[str], terms: tuple[str, ...]) -> dict[str, str]:
    """Per account, the set of conversations matching every 友だち情報 term (tag:VIP, 会員番号:123)."""
    from bridge.friends.search import decode_terms
    from bridge.friends.store import FriendStore

    friends = FriendStore(rt.redis, rt.keys)
    return {a: friends.restriction(a, decode_terms(terms)) for a in accounts}


def pending_response(rt: Runtime, filt: PendingFilter, visible: list[str], team_domain: str = "") -> tuple[str, list[dict]]:
    """One page for the accounts ``visible`` to the person (narrowed by ``account:`` filters)."""
    lang = rt.settings.language
    accounts = filt.scoped(visible)
    within = friend_restrictions(rt, accounts, filt.friend) if filt.friend else None
    page = rt.backlog.query(**filt.query_kwargs(), accounts=accounts, within=within)
    more = filt.next_page().encode() if page.has_more else None
    return render_pending(page, rt.marks, lang, permalink_for=permalink_for(rt, team_domain),
                          filters_text=filt.describe(rt.marks, lang), more_value=more)
