"""Strings of the quota meter (bridge.relay.quota, bridge.slack_ui.quota)."""

MESSAGES = {
    "quota.line": {"ja": "📊 今月の送信 {used} / {limit} 通（{percent}%）", "en": "📊 Messages this month: {used} / {limit} ({percent}%)"},
    "quota.line_unlimited": {"ja": "📊 今月の送信 {used} 通（上限なし）", "en": "📊 Messages this month: {used} (no limit)"},
    "quota.account": {"ja": "{name}: ", "en": "{name}: "},
    "quota.warn80": {"ja": "⚠️ 今月の LINE メッセージ送信数が上限の 80% に達しました（{used} / {limit} 通）。無料の応答（reply）が優先して使われます。",
                     "en": "⚠️ This month's LINE messages reached 80% of the quota ({used} / {limit}). Free replies are still preferred."},
    "quota.warn100": {"ja": "🛑 今月の LINE メッセージ送信数が上限に達しました（{used} / {limit} 通）。プッシュ送信は来月まで届きません。",
                      "en": "🛑 This month's LINE message quota is used up ({used} / {limit}). Pushes fail until next month."},
}
