"""Business hours, auto-replies, SLA alerts and 返信待ち reminders."""

MESSAGES = {
    # weekdays (Monday = 0)
    "hours.weekday.0": {"ja": "月", "en": "Mon"},
    "hours.weekday.1": {"ja": "火", "en": "Tue"},
    "hours.weekday.2": {"ja": "水", "en": "Wed"},
    "hours.weekday.3": {"ja": "木", "en": "Thu"},
    "hours.weekday.4": {"ja": "金", "en": "Fri"},
    "hours.weekday.5": {"ja": "土", "en": "Sat"},
    "hours.weekday.6": {"ja": "日", "en": "Sun"},
    "hours.closed": {"ja": "休業", "en": "closed"},
    "hours.always_open": {"ja": "終日営業（営業時間の設定なし）", "en": "always open (no business hours configured)"},
    "hours.why.special": {"ja": "特別営業日", "en": "special opening"},
    "hours.why.closed": {"ja": "休業日", "en": "closed day"},
    "hours.why.holiday": {"ja": "祝日: {name}", "en": "holiday: {name}"},
    "hours.unknown_open": {"ja": "未定", "en": "to be announced"},
    "hours.friend": {"ja": "お客", "en": "there"},
    "hours.auto_reply": {
        "ja": "{name}様、メッセージありがとうございます。ただいま営業時間外のため、{next_open} 以降に担当者より順番にご返信いたします。",
        "en": "Hi {name}, thank you for your message. We are closed right now; our team will answer from {next_open}.",
    },
    "hours.closed_badge": {"ja": "🌙 営業時間外（次の営業開始 {next_open}）", "en": "🌙 Outside business hours (opens {next_open})"},
    "hours.admin.title": {"ja": "アカウント {account} の営業時間（{tz}）", "en": "Business hours of account {account} ({tz})"},
    "hours.admin.now_open": {"ja": "現在: 営業中（{until} まで）", "en": "Now: open (until {until})"},
    "hours.admin.now_closed": {"ja": "現在: 営業時間外（次の営業開始 {next_open}）", "en": "Now: closed (opens {next_open})"},
    # auto-replies
    "auto.sent_closed": {"ja": "🤖 営業時間外の自動応答を送信しました（応答トークン・無料）:",
                         "en": "🤖 Sent the outside-hours auto-reply (reply token, free):"},
    "auto.sent_keyword": {"ja": "🤖 キーワード応答メッセージを送信しました（応答トークン・無料）:",
                          "en": "🤖 Sent a keyword auto-reply (reply token, free):"},
    "auto.sent_both": {"ja": "🤖 自動応答を送信しました（キーワード応答＋営業時間外、応答トークン・無料）:",
                       "en": "🤖 Sent auto-replies (keyword + outside hours; reply token, free):"},
    "auto.failed": {"ja": "⚠️ 自動応答を送信できませんでした（{reason}）。", "en": "⚠️ The auto-reply could not be sent ({reason})."},
    # SLA
    "sla.alert": {"ja": "⏰ 初回応答の目標（営業時間で {target}）を超えました。待ち時間 {waited}。{mention}",
                  "en": "⏰ First-response target ({target} of business hours) exceeded: waiting {waited}. {mention}"},
    "sla.escalation": {"ja": "🚨 エスカレーション: 目標の{factor}倍（営業時間で {target}）を超えて未返信です。待ち時間 {waited}。{mention}",
                       "en": "🚨 Escalation: still unanswered after {target} of business hours ({factor}× the target). "
                             "Waiting {waited}. {mention}"},
    "sla.overdue_badge": {"ja": "⏰ 期限超過（{by}）", "en": "⏰ Overdue by {by}"},
    "sla.exceeded": {"ja": "⏰ {by}超過", "en": "⏰ {by} over"},
    "sla.remaining": {"ja": "残り {left}", "en": "{left} left"},
    # 返信待ち reminders
    "reminder.text": {"ja": "{name}様、その後いかがでしょうか。ご不明な点がございましたら、このトークにお気軽にご返信ください。",
                      "en": "Hi {name}, just checking in: if anything is still unclear, simply reply here."},
    "reminder.sent": {"ja": "🔔 返信待ちリマインドを送信しました（{n}/{max}回目・プッシュ送信のため通数にカウントされます）:",
                      "en": "🔔 Sent a waiting-for-reply reminder ({n} of {max}; a push message: it counts toward the monthly quota):"},
    "reminder.failed": {"ja": "⚠️ 返信待ちリマインドを送信できませんでした（{reason}）。", "en": "⚠️ The reminder could not be sent ({reason})."},
    "reminder.button_off": {"ja": "🔕 リマインド停止", "en": "🔕 Stop reminders"},
    "reminder.button_on": {"ja": "🔔 リマインド再開", "en": "🔔 Resume reminders"},
    "reminder.switched_off": {"ja": "🔕 {actor} がこの会話の返信待ちリマインドを停止しました", "en": "🔕 {actor} switched reminders off for this chat"},
    "reminder.switched_on": {"ja": "🔔 {actor} がこの会話の返信待ちリマインドを再開しました", "en": "🔔 {actor} switched reminders back on for this chat"},
    # fair assignment
    "assign.done": {"ja": "🎯 自動割り当て（順番制）: {assignee} が担当になりました", "en": "🎯 Auto-assigned (round-robin): {assignee} now owns this chat"},
    "assign.nobody": {"ja": "🎯 自動割り当てできませんでした: 対応可能な担当者がいません（全員が離席中・対応停止中・上限到達）",
                      "en": "🎯 Could not auto-assign: nobody on duty is available (away, off duty or at the limit)"},
    "pending.filter.overdue": {"ja": "⏰ 期限超過のみ", "en": "⏰ overdue only"},
}
