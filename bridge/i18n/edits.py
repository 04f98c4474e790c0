"""LINE message edits (messageEdited) shown in Slack."""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "edited.copy": {"ja": "✏️ （編集済み）", "en": "✏️ (edited)"},
    "edited.notice": {"ja": "✏️ 友だちがメッセージを編集しました:\n{text}", "en": "✏️ The friend edited a message:\n{text}"},
}
