"""Strings of free replies: the 今すぐ送信（無料） offer, the parent's deadline, /stats' reply counts
and the quota forecast (bridge.slack_ui.free_reply, bridge.automation.stats)."""

MESSAGES = {
    "free.offer": {"ja": "🆓 このお客様に無料で返信できるのは {until} まで（あと{seconds}秒）です。送信待ちの時間が終わる頃には過ぎるため、"
                         "このままでは月の上限にカウントされるメッセージとして送られます。",
                   "en": "🆓 A free reply to this friend is possible until {until} ({seconds} s left). The undo window ends later, "
                         "so as it stands this reply goes out as a message counted against the monthly quota."},
    "free.button": {"ja": "今すぐ送信（無料）", "en": "Send now (free)"},
    "free.sent_free": {"ja": "🆓 今すぐ送信しました（無料の応答メッセージ）。", "en": "🆓 Sent now, as a free reply."},
    "free.sent_counted": {"ja": "🔢 今すぐ送信しましたが、無料で返信できる時間を過ぎていたため、月の上限にカウントされるメッセージになりました。",
                          "en": "🔢 Sent now, but the free reply had expired: it went out as a message counted against the monthly quota."},
    "free.not_yours": {"ja": "この返信を今すぐ送信できるのは、書いた人（トリアージチャンネルのメンバー）だけです。",
                       "en": "Only the person who wrote this reply (a member of the triage channel) can send it now."},
    "free.moot": {"ja": "この返信はすでに送信されたか、取り消されています。", "en": "This reply was already sent or cancelled."},
    "parent.free_until": {"ja": "🆓 無料返信は {until} まで", "en": "🆓 Free reply until {until}"},
    # /stats
    "stats.replies_title": {"ja": "*返信の内訳*（🆓 無料の応答 / 🔢 上限にカウント）", "en": "*Replies* (🆓 free / 🔢 counted against the quota)"},
    "stats.replies_month": {"ja": "{month}: {lines}", "en": "{month}: {lines}"},
    "stats.replies_person": {"ja": "{staff} 🆓{free} 🔢{counted}", "en": "{staff} 🆓{free} 🔢{counted}"},
    "stats.replies_none": {"ja": "返信の記録はまだありません", "en": "No replies recorded yet"},
    "stats.forecast_out": {"ja": "{prefix}📈 このペースだと今月の上限（{limit} 通）に {date} に達する見込みです",
                           "en": "{prefix}📈 At this month's pace the quota ({limit}) runs out on {date}"},
    "stats.forecast_ok": {"ja": "{prefix}📈 今月は上限内の見込み（予測 {projected} / {limit} 通）",
                          "en": "{prefix}📈 This month should stay within the quota (projected {projected} / {limit})"},
    "stats.forecast_reached": {"ja": "{prefix}🛑 今月の上限（{limit} 通）に達しています", "en": "{prefix}🛑 This month's quota ({limit}) is used up"},
}
