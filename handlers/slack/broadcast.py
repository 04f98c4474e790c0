"""/broadcast: compose → confirm (with the recipient count and a preview) → enqueued. Admins only."""
from __future__ import annotations

import json
import uuid
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bridge.engine import work
from bridge.friends.broadcast import quota_cost
from bridge.friends.search import split_terms
from bridge.friends.segment import Segment, audience
from bridge.i18n import t
from bridge.media.outbound import NotSent, check_image_meta
from bridge.model import DeliveryFailed, RetryLater
from bridge.runtime import Runtime
from bridge.slack_ui.broadcast import COMPOSE, CONFIRM, MAX_TEXT, compose_modal, compose_values, confirm_view
from bridge.slack_ui.parent import info_modal
from handlers.slack.ops import is_member, visible_accounts

BID_NS = uuid.UUID("0b0d3a3e-8a51-4a7e-9d6e-5a3c1f2b7c90")


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language
    # The confirm step reads the LINE quota inside Slack's 3-second window: import the LINE SDK
    # (its models take seconds to import) when the app starts, not on the first /broadcast.
    import bridge.line.gateway  # noqa: F401

    def may_broadcast(user: str, account: str) -> str:
        """Why ``user`` may not broadcast to ``account`` ("" if they may): admins, members of its triage channel."""
        if not rt.crm.is_admin(user):
            return t("admin.only", lang)
        if rt.accounts.get(account) is None or account not in visible_accounts(rt, user, ""):
            return t("op.refused", lang, channel=", ".join(f"<#{c}>" for c in sorted(rt.accounts.channels())))
        return ""

    def report_channel(user: str, wanted: Any, account: str) -> str:
        """Where progress is reported: the channel /broadcast was run in if it is a triage channel the
        person is a member of, else the account's own triage channel."""
        if isinstance(wanted, str) and wanted in rt.accounts.channels() and is_member(rt, user, wanted):
            return wanted
        return rt.accounts.require(account).channel

    @app.command("/broadcast")
    def handle_broadcast_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        user, channel = command["user_id"], command.get("channel_id", "")
        if not rt.crm.is_admin(user):
            ack(text=t("admin.only", lang), response_type="ephemeral")
            return
        visible = visible_accounts(rt, user, channel)
        if not visible:
            ack(text=t("op.refused", lang, channel=", ".join(f"<#{c}>" for c in sorted(rt.accounts.channels()))),
                response_type="ephemeral")
            return
        accounts = [(a, rt.accounts.require(a).name or a) for a in visible]
        client.views_open(trigger_id=command["trigger_id"], view=compose_modal(accounts, rt.marks, lang, channel))
        ack()

    @app.view(COMPOSE)
    def handle_broadcast_compose(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        values = compose_values(view)
        account = values["account"]
        refusal = may_broadcast(user, account)
        if refusal:
            ack(response_action="errors", errors={"message": refusal})
            return
        terms, rest = split_terms(values["conditions"], rt.crm, [account])
        if rest.strip():
            ack(response_action="errors", errors={"conditions": t("broadcast.bad_term", lang, word=rest.split()[0])})
            return
        if len(values["message"]) > MAX_TEXT:
            ack(response_action="errors", errors={"message": t("broadcast.too_long", lang, max=MAX_TEXT)})
            return
        image = values["files"][0] if values["files"] else None
        if not values["message"] and image is None:
            ack(response_action="errors", errors={"message": t("broadcast.empty", lang)})
            return
        if image is not None:
            # Slack's metadata, checked here so the modal says what is wrong; the worker fetches
            # the file and checks its bytes before anything is sent.
            try:
                if len(values["files"]) > 1:
                    raise NotSent("broadcast.one_image")
                check_image_meta(image)
            except NotSent as exc:
                ack(response_action="errors", errors={"image": t(exc.key, lang, **exc.params)})
                return
        segment = Segment(account=account, terms=tuple(terms), marks=tuple(values["marks"]))
        aud = audience(rt.stores, segment, lambda k: rt.marks.effective(k).key, rt.marks)
        if not aud.user_ids:
            ack(response_action="errors", errors={"conditions": t("broadcast.nobody", lang)})
            return
        try:
            limit, used = rt.lines.of(account).quota()
            left = None if limit is None else max(0, limit - used)
        except (DeliveryFailed, RetryLater):
            left = "?"
        if isinstance(left, int) and quota_cost(len(aud.user_ids)) > left:  # refused before anything is sent (text + image: still 1 each)
            ack(response_action="errors", errors={"message": t("broadcast.would_exceed", lang, total=f"{len(aud.user_ids):,}",
                                                                left=f"{left:,}")})
            return
        shown_left = t("broadcast.unlimited", lang) if left is None else (f"{left:,}" if isinstance(left, int) else left)
        conditions = " ".join(f"`{k}:{v}`" for k, v in terms) or t("broadcast.everyone", lang)
        if segment.marks:
            conditions += " · " + ", ".join(rt.marks.effective(m).label(lang) for m in segment.marks)
        channel = report_channel(user, values["channel"], account)
        meta = {"segment": segment.to_json(), "text": values["message"], "channel": channel}
        if image is not None:
            meta["image"] = {"id": image["id"], "name": str(image.get("name") or "")[:100]}
        ack(response_action="update", view=confirm_view(meta, len(aud.user_ids), aud.blocked, shown_left, conditions, lang))

    @app.view(CONFIRM)
    def handle_broadcast_confirm(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The segment, text, image and report channel come back in ``private_metadata``, which the
        submitter's client sends: checked again exactly as when the modal was opened, never trusted."""
        user = body["user"]["id"]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            segment = Segment.from_json(meta["segment"])
            if not isinstance(segment.account, str) or not isinstance(meta.get("text", ""), str):
                raise TypeError("segment account / text")
        except (ValueError, KeyError, TypeError, AttributeError):
            ack(response_action="update", view=info_modal(t("broadcast.title", lang), t("broadcast.expired", lang)))
            return
        refusal = may_broadcast(user, segment.account)
        if refusal:
            ack(response_action="update", view=info_modal(t("broadcast.title", lang), refusal))
            return
        bid = uuid.uuid5(BID_NS, f"{view.get('id', '')}:{view.get('hash', '')}").hex[:20]
        payload = {"bid": bid, "segment": segment.to_json(), "text": meta.get("text") or "", "actor": user,
                   "channel": report_channel(user, meta.get("channel"), segment.account)}
        image = meta.get("image")
        if isinstance(image, dict) and isinstance(image.get("id"), str):
            payload["image"] = {"id": image["id"], "name": str(image.get("name") or "")[:100]}
        rt.inbox.accept("slack-broadcast", bid, work.broadcast_stream(bid), work.BROADCAST, payload)
        ack()
