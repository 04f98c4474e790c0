"""/canned list|add|remove: 定型文 managed from Slack (add/remove: admins only)."""
from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bridge.friends.canned import CannedReplies
from bridge.i18n import t
from bridge.runtime import Runtime
from bridge.text import mrkdwn
from handlers.slack.ops import visible_accounts


def register(app: App, rt: Runtime) -> None:
    lang = rt.settings.language

    def say(ack: Ack, text: str) -> None:
        ack(text=text, response_type="ephemeral")

    @app.command("/canned")
    def handle_canned_command(ack: Ack, command: dict[str, Any]) -> None:
        user, channel = command["user_id"], command.get("channel_id", "")
        words = (command.get("text") or "").strip().split(maxsplit=1)
        verb = words[0].lower() if words else "list"
        rest = words[1] if len(words) > 1 else ""
        visible = visible_accounts(rt, user, channel)
        if not visible:
            say(ack, t("op.refused", lang, channel=", ".join(f"<#{c}>" for c in sorted(rt.accounts.channels()))))
            return
        # Which account: "account:<key>" first, else the only one in scope.
        first, _, tail = rest.partition(" ")
        if first.startswith("account:"):
            wanted, rest = first[len("account:"):], tail
            accounts = [a for a in visible if a == wanted]
        else:
            accounts = [a.key for a in rt.accounts.in_channel(channel)] if channel in rt.accounts.channels() else visible
        store = CannedReplies(rt.stores.canned, rt.crm)
        if verb in ("list", "ls", "一覧"):
            lines = []
            for account in accounts:
                lines.append("*" + t("canned.list.header", lang, account=account) + "*")
                entries = store.all(account)
                if not entries:
                    lines.append(t("canned.list.empty", lang))
                for key, (text, origin) in entries.items():
                    suffix = f" {t('canned.list.from_config', lang)}" if origin == "config" else ""
                    lines.append(f"• `!{key}`{suffix}: {mrkdwn.clip(mrkdwn.escape(text), 300)}")
            say(ack, "\n".join(lines))
            return
        if verb not in ("add", "remove", "rm", "delete", "追加", "削除"):
            say(ack, t("canned.usage", lang))
            return
        if not rt.crm.is_admin(user):
            say(ack, t("admin.only", lang))
            return
        if len(accounts) != 1:
            say(ack, t("canned.which_account", lang, accounts=", ".join(visible)))
            return
        account = accounts[0]
        key, _, text = rest.strip().partition(" ")
        key = key.lstrip("!")
        if verb in ("add", "追加"):
            if not key or not text.strip():
                say(ack, t("canned.usage", lang))
                return
            text = text.strip().replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # Slack escapes these
            result = store.add(account, key, text)
            say(ack, t({"added": "canned.added", "config": "canned.config_only", "bad_key": "canned.bad_key"}[result], lang, name=key))
            return
        result = store.remove(account, key)
        say(ack, t({"removed": "canned.removed", "config": "canned.config_only", "not_found": "canned.not_found"}[result], lang, name=key))
