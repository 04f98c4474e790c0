"""Strings of the undo window and corrections (bridge.relay.undo)."""

MESSAGES = {
    "undo.edited": {"ja": "✏️ 送信前に編集されました。LINE には編集後の内容を送ります。",
                    "en": "✏️ Edited before sending: LINE will get the edited text."},
    "undo.cancelled": {"ja": "🗑️ 送信前に削除されたため、LINE には送信しません。",
                       "en": "🗑️ Deleted before sending: nothing is sent to LINE."},
    "undo.too_late_edit": {"ja": "このメッセージはすでに LINE に送信済みです。LINE のメッセージは取り消し・編集できません。編集後の内容を訂正として送りますか？",
                           "en": "This message was already sent to LINE, and LINE messages cannot be retracted or edited. Send the edited text as a correction?"},
    "undo.too_late_delete": {"ja": "このメッセージはすでに LINE に送信済みです。Slack で削除しても、LINE のメッセージは取り消せません。",
                             "en": "This message was already sent to LINE. Deleting it in Slack does not retract the LINE message."},
    "undo.correction_button": {"ja": "訂正として送信", "en": "Send as a correction"},
    "undo.correction_prefix": {"ja": "【訂正】", "en": "[Correction] "},
    "undo.correction_sent": {"ja": "✅ 訂正を LINE に送信しました。", "en": "✅ The correction was sent to LINE."},
    "undo.correction_not_yours": {"ja": "訂正を送信できるのは、元のメッセージを書いた人（トリアージチャンネルのメンバー）だけです。",
                                  "en": "Only the person who wrote the message (a member of the triage channel) can send its correction."},
}
