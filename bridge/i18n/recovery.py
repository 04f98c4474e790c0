"""Strings of crash recovery: dead letters announced in the triage channel."""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "deadletter.announce": {
        "ja": "⚠️ 処理できなかったため保留しました（{what}）：{reason}　— 再実行は `python -m bridge.admin replay-dead-letters`",
        "en": "⚠️ Set aside after repeated failures ({what}): {reason} — replay with `python -m bridge.admin replay-dead-letters`",
    },
    "deadletter.line_message": {"ja": "LINE のメッセージ「{preview}」", "en": "LINE message \"{preview}\""},
    "deadletter.line_event": {"ja": "LINE のイベント {type}", "en": "LINE event {type}"},
    "deadletter.slack_op": {"ja": "Slack での操作", "en": "a change made in Slack"},
    "deadletter.forward": {"ja": "Webhook の転送", "en": "a forwarded webhook"},
    "deadletter.other": {"ja": "{kind}", "en": "{kind}"},
}
