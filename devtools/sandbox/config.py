"""The sandbox's configuration (``./scripts/demo --play``): what a shop would set up, so the page
shows the product's features rather than an empty config — an admin, 友だち情報 fields, two 定型文,
a keyword auto-reply and business hours with one closed day. Written by ``devtools.stack`` to
BRIDGE_CONFIG under ``.run/``; never imported by ``bridge/``. The friend the page starts with gets
her 友だち情報 (tags, fields, a note) through the product's own CSV import (:func:`seed_friend_data`).
"""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SANDBOX_TZ = "Asia/Tokyo"
SANDBOX_ADMIN = "USATO"  # devtools.sandbox.slack_side.STAFF: 佐藤 (the default "you are") may /canned add|remove, /broadcast

#: The sandbox's configuration (``--play``): what a shop would set up, so the page shows the
#: product's features rather than an empty config. Written to BRIDGE_CONFIG under .run/.
SANDBOX_CONFIG = f"""[admins]
users = ["{SANDBOX_ADMIN}"]

[[fields]]
key = "member_no"
ja = "会員番号"
en = "Member no."
type = "text"

[[fields]]
key = "visits"
ja = "来店回数"
en = "Visits"
type = "number"

[[fields]]
key = "course"
ja = "希望コース"
en = "Course"
type = "choice"
choices = ["カット", "カラー", "パーマ"]

[[canned]]
key = "thanks"
text = "{{name}}様、お問い合わせありがとうございます。担当の{{staff}}が確認いたします。"

[[canned]]
key = "hours"
text = "{{name}}様、営業時間は平日10時〜19時です。"

[[auto_replies]]
match = "contains"
keywords = ["住所", "アクセス"]
text = "{{name}}様、店舗は東京都渋谷区1-2-3です（サンドボックスの自動応答）。"
"""


CLOSED_IN_DAYS = 2  # the sandbox's closed day: the day after tomorrow (a run over midnight stays open)


def closed_day(now: float | None = None) -> str:
    """The sandbox's one closed day, in Tokyo (its page's clock can move there)."""
    tokyo = ZoneInfo(SANDBOX_TZ)
    today = datetime.fromtimestamp(now if now is not None else time.time(), tokyo).date()
    return (today + timedelta(days=CLOSED_IN_DAYS)).isoformat()


def sandbox_config() -> str:
    """SANDBOX_CONFIG and business hours: open around the clock (the sandbox behaves the same
    whenever it is tried, and so do its tests) but for one closed day: 🌙 on the threads and the
    closed-hours auto-reply are seen by moving the page's clock to that day."""
    return SANDBOX_CONFIG + f"""
[hours]
timezone = "{SANDBOX_TZ}"
holidays = ""
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]
closed = ["{closed_day()}"]
"""


#: 友だち情報 of the friend the sandbox starts with (山田 花子): what a shop moving from another tool
#: would import, so her thread parent shows 🏷 tags and fields, /friends tag:VIP finds her and the
#: 友だち情報 modal opens filled in. Keys are SANDBOX_CONFIG's [[fields]].
SEEDED_FRIEND = {"tags": "VIP, リピーター", "note": "カラーはいつも同じ色（7番）",
                 "member_no": "A-1024", "visits": "5", "course": "カラー"}


def seed_friend_data(env: dict[str, str], path: str, friends: dict[str, str]) -> None:
    """Give ``friends`` (LINE user id -> name) SEEDED_FRIEND's data the way an operator would:
    a CSV file and ``python -m bridge.admin friends import`` against the running bridge's Redis.
    The import posts nothing to Slack (a friend without a thread gets one when they first write),
    so the page still starts calm. Raises CalledProcessError with the import's own message."""
    columns = ["account", "line_id", "name", *SEEDED_FRIEND]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for line_id, name in friends.items():
            writer.writerow({"account": "default", "line_id": line_id, "name": name, **SEEDED_FRIEND})
    subprocess.run([sys.executable, "-m", "bridge.admin", "friends", "import", path], env=env, check=True,
                   stdout=subprocess.DEVNULL)
