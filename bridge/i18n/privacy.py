"""Strings of retention and forgetting a friend (bridge.privacy)."""

MESSAGES = {
    "forget.button": {"ja": "🗑️ この友だちのデータを削除…", "en": "🗑️ Delete this friend's data…"},
    "forget.title": {"ja": "友だちのデータを削除", "en": "Delete friend's data"},
    "forget.submit": {"ja": "削除する", "en": "Delete"},
    "forget.cancel": {"ja": "やめる", "en": "Cancel"},
    "forget.confirm": {"ja": "*{name}* (#{number}) の個人データをブリッジからすべて削除します: 会話の状態、友だち情報、履歴（メッセージとメディア）、"
                             "送信待ちの返信、記録、グループトークでのこの友だちのメッセージ（ほかのメンバーのメッセージは残ります）。"
                             "*元に戻せません。* 削除したことと、誰がいつ削除したかだけが記録に残ります。"
                             "この友だちがまた LINE で話しかけると、新しい番号の会話として始まります。",
                       "en": "All personal data of *{name}* (#{number}) is deleted from the bridge: the conversation's state, "
                             "友だち情報, its history (messages and media), replies waiting to be sent, records, and what this friend wrote "
                             "in group chats (the other members' messages stay). *This cannot be undone.* "
                             "Only that it was deleted, by whom and when is kept. If this friend writes again, a new conversation "
                             "with a new number starts."},
    "forget.slack_posts": {"ja": "ブリッジの Slack 投稿も削除する", "en": "Also delete the bridge's Slack posts"},
    "forget.slack_posts_hint": {"ja": "このスレッドの親メッセージと中継した投稿。スタッフ本人の投稿は削除できません。",
                                "en": "The parent and relayed posts. Staff members' own messages stay."},
    "forget.queued": {"ja": "🗑️ #{number} のデータを削除しています。終わったらお知らせします。",
                      "en": "🗑️ Deleting the data of #{number}. You will be told when it is done."},
    "forget.done": {"ja": "🗑️ #{number} の友だちのデータを削除しました。Slack の投稿はそのままです。",
                    "en": "🗑️ The data of friend #{number} was deleted. Its Slack posts were left as they are."},
    "forget.done_posts": {"ja": "🗑️ #{number} の友だちのデータを削除しました。Slack のブリッジの投稿 {deleted} 件も削除しました"
                                "（スタッフ本人の投稿 {kept} 件は削除できないため残っています）。",
                          "en": "🗑️ The data of friend #{number} was deleted, with {deleted} of the bridge's Slack posts "
                                "({kept} message(s) by staff members cannot be deleted by the bridge and remain)."},
    "forget.done_groups": {"ja": "グループトーク {groups} 件でのこの友だちのメッセージ {entries} 件（メディアを含む）も削除しました。",
                           "en": " Their {entries} message(s) in {groups} group chat(s), media included, were deleted too."},
    "forget.gone": {"ja": "この会話はもうありません（削除済みかもしれません）。", "en": "This conversation no longer exists (it may have been deleted)."},
    "retention.stats": {"ja": "🧹 保持期間（{days}日）を過ぎて削除: 前回 {entries} 件・メディア {media} 件（累計 {total_entries} 件・メディア {total_media} 件）",
                        "en": "🧹 Deleted after the retention period ({days} days): last run {entries} message(s), {media} media file(s) "
                              "({total_entries} and {total_media} in total)"},
}
