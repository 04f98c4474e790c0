"""The archive (#18): its health in the triage channel and in the doctor."""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "archive.failing": {"ja": "🗄️ アーカイブにメディアを保存できません（{error}）。中継は続いています。復旧したら自動で追いつきます。",
                        "en": "🗄️ Media cannot be saved to the archive ({error}). Relaying continues; the archive catches up once it recovers."},
    "archive.recovered": {"ja": "🗄️ アーカイブへの保存が復旧しました。待っていたメディアを保存しています。",
                          "en": "🗄️ The archive works again; the waiting media are being saved."},
    "doctor.archive.ok": {"ja": "アーカイブ: {where} に保存できます（保存待ち {pending} 件）",
                          "en": "archive: {where} is writable ({pending} files waiting)"},
    "doctor.archive.bad": {"ja": "アーカイブ: {where} に保存できません: {error} — BRIDGE_ARCHIVE_DIR / BRIDGE_ARCHIVE_URL と権限を確認してください",
                           "en": "archive: cannot write to {where}: {error} — check BRIDGE_ARCHIVE_DIR / BRIDGE_ARCHIVE_URL and permissions"},
    "doctor.archive.failing": {"ja": "アーカイブ: {since} から保存に失敗しています（{error}、保存待ち {pending} 件）",
                               "en": "archive: writes failing since {since} ({error}; {pending} files waiting)"},
}
