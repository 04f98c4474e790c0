"""Everything a Slack user or a LINE friend reads, in Japanese (default) and English.

``t(key, lang, **params)`` formats one message. Keys are grouped by where they show up.
"""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    # -- placeholders for LINE messages that are not plain text --
    "placeholder.image": {"ja": "🖼️ 画像が送信されました", "en": "🖼️ Sent an image"},
    "placeholder.video": {"ja": "🎬 動画が送信されました", "en": "🎬 Sent a video"},
    "placeholder.audio": {"ja": "🎤 音声が送信されました", "en": "🎤 Sent a voice message"},
    "placeholder.file": {"ja": "📎 ファイルが送信されました: {name}", "en": "📎 Sent a file: {name}"},
    "placeholder.location": {"ja": "📍 位置情報: {title}\n{address}\n{map_url}", "en": "📍 Location: {title}\n{address}\n{map_url}"},
    "placeholder.sticker": {"ja": "スタンプが送信されました {keywords}", "en": "Sent a sticker {keywords}"},
    "placeholder.unknown": {"ja": "（この種類のメッセージ「{type}」はまだ表示できません）", "en": "(This kind of message, \"{type}\", cannot be shown yet)"},
    # -- notices in the thread --
    "notice.follow": {"ja": "➕ 友だち追加されました", "en": "➕ Added the account as a friend"},
    "notice.refollow": {"ja": "➕ ブロック解除（再び友だちになりました）", "en": "➕ Unblocked the account (friends again)"},
    "notice.unfollow": {"ja": "⛔ ブロックされました。このトークにはもう送信できません。", "en": "⛔ Blocked the account. Messages can no longer be sent to this chat."},
    "notice.join": {"ja": "👋 このグループに参加しました", "en": "👋 The account joined this chat"},
    "notice.leave": {"ja": "🚪 このグループから退出しました", "en": "🚪 The account left this chat"},
    "notice.member_joined": {"ja": "👋 メンバーが参加しました: {names}", "en": "👋 Joined: {names}"},
    "notice.member_left": {"ja": "🚪 メンバーが退出しました: {names}", "en": "🚪 Left: {names}"},
    "notice.postback": {"ja": "🔘 ボタンが押されました: {data}", "en": "🔘 Pressed a button: {data}"},
    "notice.unsend": {"ja": "↩️ メッセージの送信が取り消されました", "en": "↩️ Unsent a message"},
    "notice.standby": {"ja": "（スタンバイ中に受信：他のチャネルが応答します）", "en": "(received in standby: another channel answers)"},
    # -- the parent message of a conversation thread --
    "parent.title": {"ja": "#{number} {name}", "en": "#{number} {name}"},
    "parent.kind.user": {"ja": "LINE 友だち", "en": "LINE friend"},
    "parent.kind.group": {"ja": "LINE グループ", "en": "LINE group"},
    "parent.kind.room": {"ja": "LINE トークルーム", "en": "LINE chat room"},
    "parent.assignee": {"ja": "担当: {assignee}", "en": "Assignee: {assignee}"},
    "parent.nobody": {"ja": "未割り当て", "en": "unassigned"},
    "parent.waiting": {"ja": "⏳ 待ち {duration}（{since}〜）", "en": "⏳ waiting {duration} (since {since})"},
    "parent.last_message": {"ja": "最終メッセージ {when}", "en": "last message {when}"},
    "parent.blocked": {"ja": "⛔ ブロック中", "en": "⛔ Blocked"},
    "parent.hint": {"ja": "このスレッドに返信すると LINE に送信されます。`//` または `note:` で始めると社内メモになります。",
                    "en": "Replies in this thread are sent to LINE. Start with `//` or `note:` for an internal note."},
    # -- controls on the parent, the shortcut's modal --
    "control.claim": {"ja": "🙋 担当する", "en": "🙋 Claim"},
    "control.resolve": {"ja": "✅ 対応済み", "en": "✅ Resolve"},
    "control.typing": {"ja": "✍️ 返信を準備中", "en": "✍️ Writing a reply"},
    "control.mark": {"ja": "対応マーク", "en": "Mark"},
    "control.assign": {"ja": "担当者", "en": "Assignee"},
    "modal.title": {"ja": "会話の操作", "en": "Conversation"},
    "modal.submit": {"ja": "保存", "en": "Save"},
    "modal.cancel": {"ja": "キャンセル", "en": "Cancel"},
    "modal.quick": {"ja": "操作", "en": "Actions"},
    "modal.claim_me": {"ja": "自分が担当する", "en": "Claim it myself"},
    "modal.resolve": {"ja": "対応済みにする", "en": "Mark as resolved"},
    "modal.not_a_conversation": {"ja": "このメッセージは LINE の会話スレッドのものではありません。", "en": "This message is not part of a LINE conversation thread."},
    # -- the audit trail shown in the thread --
    "op.claim": {"ja": "🙋 {actor} が担当になりました", "en": "🙋 {actor} claimed this conversation"},
    "op.unclaim": {"ja": "{actor} が担当を外れました", "en": "{actor} unclaimed this conversation"},
    "op.assign": {"ja": "👤 {actor} が {assignee} を担当者にしました", "en": "👤 {actor} assigned {assignee}"},
    "op.unassign": {"ja": "👤 {actor} が担当者を外しました", "en": "👤 {actor} removed the assignee"},
    "op.mark": {"ja": "🏷️ {actor} がマークを「{mark}」にしました", "en": "🏷️ {actor} set the mark to \"{mark}\""},
    "op.resolve": {"ja": "✅ {actor} が対応済みにしました", "en": "✅ {actor} marked this resolved"},
    "op.reopened": {"ja": "🔁 対応済みの会話 #{number} {name} に新しいメッセージが届きました：{link}", "en": "🔁 Resolved conversation #{number} {name} has a new message: {link}"},
    "op.open_thread": {"ja": "スレッドを開く", "en": "open thread"},
    "op.refused": {"ja": "この操作はトリアージチャンネル <#{channel}> のメンバーだけができます。チャンネルに参加してからもう一度お試しください。",
                   "en": "Only members of the triage channel <#{channel}> can do this. Join the channel and try again."},
    "op.done": {"ja": "#{number} {name}: {what}", "en": "#{number} {name}: {what}"},
    # -- slash commands --
    "cmd.usage.claim": {"ja": "使い方: `/claim 12`（会話番号）", "en": "Usage: `/claim 12` (conversation number)"},
    "cmd.usage.assign": {"ja": "使い方: `/assign 12 @担当者`", "en": "Usage: `/assign 12 @user`"},
    "cmd.usage.mark": {"ja": "使い方: `/mark 12 クレーム`（マークのキーまたは表示名）\n使えるマーク: {marks}", "en": "Usage: `/mark 12 complaint` (mark key or name)\nMarks: {marks}"},
    "cmd.usage.resolve": {"ja": "使い方: `/resolve 12`", "en": "Usage: `/resolve 12`"},
    "cmd.no_conversation": {"ja": "会話 #{number} は見つかりません。", "en": "There is no conversation #{number}."},
    "cmd.unknown_mark": {"ja": "「{mark}」というマークはありません。使えるマーク: {marks}", "en": "There is no mark \"{mark}\". Marks: {marks}"},
    "unknown_name": {"ja": "（名前不明）", "en": "(unknown name)"},
    # -- delivery of staff replies --
    "delivery.failed": {"ja": "⚠️ LINE に送信できませんでした：{reason}", "en": "⚠️ Could not send to LINE: {reason}"},
    "reason.blocked": {"ja": "相手にブロックされています", "en": "the friend has blocked the account"},
    "reason.left": {"ja": "アカウントはこのグループにいません", "en": "the account is no longer in this group"},
    "reason.quota": {"ja": "今月のメッセージ送信数の上限に達しました", "en": "the monthly message quota is used up"},
    "reason.invalid": {"ja": "LINE がリクエストを拒否しました（{detail}）", "en": "LINE rejected the request ({detail})"},
    "reason.auth": {"ja": "チャネルアクセストークンが無効です", "en": "the channel access token is invalid"},
    "reason.empty": {"ja": "送信できる内容がありません", "en": "there is nothing to send"},
    "reason.files_unsupported": {"ja": "ファイルの送信にはまだ対応していません", "en": "sending files is not supported yet"},
    "delivery.files_not_sent": {"ja": "📎 添付ファイルは LINE に送信されていません（未対応）。テキストのみ送信しました。",
                                "en": "📎 Attachments were not sent to LINE (not supported yet); only the text was sent."},
    "reason.gave_up": {"ja": "何度再試行しても届きませんでした（{detail}）", "en": "still failing after several retries ({detail})"},
    "note.saved": {"ja": "📝 社内メモ（LINE には送信されません）", "en": "📝 Internal note (not sent to LINE)"},
    # -- /pending --
    "pending.title": {"ja": "対応待ち {total}件", "en": "{total} pending"},
    "pending.empty": {"ja": "対応待ちはありません 🎉", "en": "Nothing pending 🎉"},
    "pending.page_empty": {"ja": "このページに表示する会話はもうありません（全{total}件）",
                           "en": "No more conversations on this page ({total} in all)"},
    "pending.assignee": {"ja": "担当 {who}", "en": "Assignee {who}"},
    "pending.unassigned": {"ja": "未割り当て", "en": "Unassigned"},
    "pending.waiting": {"ja": "待ち {duration}", "en": "waiting {duration}"},
    "pending.last": {"ja": "最終 {when}", "en": "last {when}"},
    "pending.open_thread": {"ja": "スレッドを開く", "en": "Open thread"},
    "pending.no_preview": {"ja": "（メッセージなし）", "en": "(no message)"},
    "pending.range": {"ja": "{first}–{last}件目 / 全{total}件", "en": "{first}–{last} of {total}"},
    "pending.more": {"ja": "さらに表示", "en": "Show more"},
    "pending.filter.all": {"ja": "すべての要対応", "en": "All open conversations"},
    "pending.filter.assignee": {"ja": "担当: {who}", "en": "Assignee: {who}"},
    "pending.filter.marks": {"ja": "マーク: {marks}", "en": "Marks: {marks}"},
    "pending.error.unknown": {"ja": "「{word}」が分かりません。", "en": "I don't understand \"{word}\"."},
    "pending.error.two_assignees": {"ja": "担当者の条件は1つだけ指定できます（{a} と {b}）。",
                                    "en": "Only one assignee filter at a time ({a} and {b})."},
    "pending.error.closed_mark": {"ja": "「{mark}」の会話は対応待ちに含まれません。",
                                  "en": "Conversations marked \"{mark}\" are not in the backlog."},
    # -- forwarding to other LINE tools --
    "forward.failing": {"ja": "⚠️ 【{account}】転送先 {url} への Webhook 転送が {minutes} 分以上失敗しています（{error}）。転送は再試行を続けています。",
                        "en": "⚠️ [{account}] Forwarding webhooks to {url} has been failing for {minutes}+ minutes ({error}). Still retrying."},
    "forward.recovered": {"ja": "✅ 【{account}】転送先 {url} への Webhook 転送が復旧しました（{count} 回の失敗の後）。",
                          "en": "✅ [{account}] Forwarding webhooks to {url} works again (after {count} failed attempts)."},
    "pending.filter.account": {"ja": "アカウント: {accounts}", "en": "Account: {accounts}"},
    "pending.error.unknown_account": {"ja": "アカウント「{key}」はありません（{keys}）。", "en": "There is no account \"{key}\" ({keys})."},
    "pending.usage": {
        "ja": "使い方: `/pending` [mine|unassigned|@ユーザー] [マーク…]\n"
              "・`mine`（自分）/ `unassigned`（未割り当て）/ `@ユーザー` で担当者を絞り込み\n"
              "・マーク名で絞り込み（複数可、`all` ですべて）: {marks}\n"
              "・`account:キー` で LINE アカウントを絞り込み",
        "en": "Usage: `/pending` [mine|unassigned|@user] [mark…]\n"
              "• `mine` (or `me`), `unassigned` (or `none`), or `@user` filters by assignee\n"
              "• mark names filter by mark (several allowed, `all` for every one): {marks}\n"
              "• `account:key` filters by LINE account",
    },
}


def t(key: str, lang: str = "ja", **params: object) -> str:
    """Format message ``key`` in ``lang`` (falls back to Japanese, then to the key itself)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry["ja"]
    return template.format(**params) if params else template
