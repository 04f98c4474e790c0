"""/pending: read-only, answered inside Slack's 3-second window from the sorted-set indexes."""
from __future__ import annotations

from bridge import clock
from bridge.automation.views import timekeeper_of
from bridge.runtime import Runtime
from bridge.slack_ui.quota import quota_block
from bridge.store.meter import read_meter
from bridge.slack_ui.pending import PendingFilter, render_pending
from handlers.slack.ops import permalink_for


def friend_restrictions(rt: Runtime, accounts: list[str], terms: tuple[str, ...]) -> dict[str, str]:
    """Per account, the set of conversations matching every 友だち情報 term (tag:VIP, 会員番号:123)."""
    from bridge.friends.search import decode_terms

    friends = rt.stores.friends
    return {a: friends.restriction(a, decode_terms(terms)) for a in accounts}


def pending_response(rt: Runtime, filt: PendingFilter, visible: list[str], team_domain: str = "") -> tuple[str, list[dict]]:
    """One page for the accounts ``visible`` to the person (narrowed by ``account:`` filters)."""
    lang = rt.settings.language
    keeper = timekeeper_of(rt)  # business hours and SLA targets (bridge.automation)
    now = clock.now()
    accounts = filt.scoped(visible)
    within = friend_restrictions(rt, accounts, filt.friend) if filt.friend else None  # tag:/field filters
    if filt.overdue:
        page = keeper.overdue_page(rt.stores.automation, accounts, **filt.query_kwargs(), now=now)
    else:
        page = rt.backlog.query(**filt.query_kwargs(), accounts=accounts, within=within, now=now)
    more = filt.next_page().encode() if page.has_more else None
    notice = " · ".join(n for n in (keeper.closed_notice(a, now) for a in accounts) if n)
    text, blocks = render_pending(page, rt.marks, lang, permalink_for=permalink_for(rt, team_domain),
                                  filters_text=filt.describe(rt.marks, lang), more_value=more, notice=notice,
                                  row_note=lambda row: keeper.sla_text(row.account, row.mark, row.waiting_since, now))
    meters = [(rt.accounts.require(a).name if len(accounts) > 1 else "", m) for a in accounts
              if (m := read_meter(rt.store, a))]
    quota = quota_block(meters, lang)
    if quota and blocks:
        blocks.insert(1, quota)  # under the title: the month's message quota and usage
    return text, blocks
