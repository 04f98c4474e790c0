"""Strings of media relaying, quotes, unsend and edits (bridge.media, bridge.relay.line_extras)."""

MESSAGES = {
    "media.image_set": {"ja": "🖼️ 画像が {count} 枚送信されました", "en": "🖼️ Sent {count} images"},
    "media.image_set_incomplete": {"ja": "画像 {received}/{total} 枚を受信しました（残りは届いていません）",
                                   "en": "Received {received} of {total} images (the rest did not arrive)"},
    "media.external": {"ja": "{what}（外部の URL）\n{url}", "en": "{what} (external URL)\n{url}"},
    "media.failed": {"ja": "⚠️ {name} さんの{what}を Slack に表示できませんでした: {reason}",
                     "en": "⚠️ Could not show {name}'s {what} in Slack: {reason}"},
    "media.kind.image": {"ja": "画像", "en": "image"},
    "media.kind.video": {"ja": "動画", "en": "video"},
    "media.kind.audio": {"ja": "音声", "en": "voice message"},
    "media.kind.file": {"ja": "ファイル", "en": "file"},
    "media.reason.content_gone": {"ja": "LINE にもう内容がありません（保存期間切れ）",
                                  "en": "LINE no longer has the content (expired)"},
    "media.reason.too_large": {"ja": "大きすぎます（{detail}）", "en": "too large ({detail})"},
    "media.reason.transcoding_failed": {"ja": "LINE 側の変換に失敗しました", "en": "LINE could not transcode it"},
    "media.reason.other": {"ja": "{detail}", "en": "{detail}"},
    "sticker.alt": {"ja": "スタンプ {keywords}", "en": "Sticker {keywords}"},
    "quote.link": {"ja": "引用元", "en": "quoted message"},
    "unsent.copy": {"ja": "送信取り消しされました", "en": "Unsent by the friend"},
    "edited.mark": {"ja": "（編集済み）", "en": "(edited)"},
}

MESSAGES.update({
    "media.not_sent": {"ja": "⚠️ 「{name}」は LINE に送信していません: {reason}", "en": "⚠️ \"{name}\" was not sent to LINE: {reason}"},
    "media.out.too_large": {"ja": "大きすぎます（{size}、LINE の上限は {limit}）", "en": "too large ({size}; LINE allows {limit})"},
    "media.out.format": {"ja": "LINE は {kind} 形式のみ受け付けます（この添付は {got}）",
                         "en": "LINE only accepts {kind} (this attachment is {got})"},
    "media.out.not_image_data": {"ja": "ファイルの中身が JPEG / PNG ではありません", "en": "the file's contents are not JPEG / PNG"},
    "media.out.no_duration": {"ja": "音声の長さを読み取れませんでした", "en": "the length of the audio could not be read"},
    "media.out.unavailable": {"ja": "Slack からファイルを取得できませんでした（{detail}）",
                              "en": "the file could not be read from Slack ({detail})"},
    "media.out.download": {"ja": "📎 {name}\n{url}", "en": "📎 {name}\n{url}"},
    "media.out.remote_link": {"ja": "🔗 {name}\n{url}", "en": "🔗 {name}\n{url}"},
    "media.out.remote": {"ja": "外部サービスのファイル（Google ドライブなど）は画像として送れません",
                         "en": "a file hosted by another service (Google Drive…) cannot be sent as an image"},
})
