"""Several waiting friend messages → one Slack message.

Slack allows about one ``chat.postMessage`` per second per channel, and every LINE chat of an
account shares one triage channel. When a conversation's stream has several friend text messages
waiting at its head (its turn came while the friend kept writing), they are relayed as ONE Slack
message: each message on its own line(s), with its time, in order. Every LINE message id still
maps to that Slack message (quotes, unsend notices and edits keep working).

Unsend and edit: each message's part of the post (and its time) is kept in its message map
record, so unsending one message re-renders the post with only that part replaced by
「🚫 送信取り消しされました」 (its time kept, the others unchanged and in order), and an edit
re-renders it with the latest text marked as edited. A batch only ever holds text messages, so
there is no file of a batch to delete.

Idempotency: the batch is posted under the post key of its first message, and the composition
(the inbox item ids) is written to that post's record before the call. A retry after an
uncertain attempt (the record says "pending", "uncertain" or "posted") relays exactly the same items again,
so a message that arrived meanwhile is never linked to a post that does not show it.
"""
from __future__ import annotations

import time
from bridge.i18n import t
from bridge.model import InboundMessage
from bridge.store import Store
from bridge.store.messages import line_messages

def post_key_of(msg: InboundMessage) -> str:
    """The post key of a friend message (the same for a batch it starts)."""
    return f"line-{msg.account}-{msg.webhook_event_id or msg.message_id}"


def sent_secs(msg: InboundMessage) -> int:
    """When a message was sent (epoch seconds), as its line of a batch shows it."""
    return int(msg.timestamp_ms / 1000) if msg.timestamp_ms else int(time.time())


def batch_line(sent: int, text: str) -> str:
    """One message of a batch: ``<!date^…^{time_secs}|…>`` shows its time in each reader's own
    time zone; the fallback (for clients that cannot render it) is the server's local time."""
    fallback = time.strftime("%H:%M:%S", time.localtime(sent))
    return f"<!date^{sent}^{{time_secs}}|{fallback}>  {text}"


def batch_text(msgs: list[InboundMessage], texts: list[str]) -> str:
    """One line per message (continuation lines follow), each starting with its time."""
    return "\n".join(batch_line(sent_secs(msg), text) for msg, text in zip(msgs, texts))


def render_batch(store: Store, account: str, message_ids: list[str], lang: str) -> str | None:
    """The batch post as it should show now: every message's kept part in order, unsent ones
    replaced by the unsend notice. None for a post relayed before parts were kept."""
    lines = []
    for record in line_messages(store, account, message_ids):
        sent = record.get("sent") or ""
        if not sent.isdigit():
            return None
        if record.get("unsent"):
            lines.append(batch_line(int(sent), "🚫 " + t("unsent.copy", lang)))
        elif "shown" in record:
            lines.append(batch_line(int(sent), record["shown"]))
        else:
            return None
    return "\n".join(lines)


def texts_of_post(text: str) -> list[str]:
    """The friend texts a Slack post shows: one for a single message, one per line group for a
    batch made by :func:`batch_text` (the inverse, for readers such as tests and benchmarks)."""
    if not text.startswith("<!date^"):
        return [text]
    out: list[str] = []
    for line in text.split("\n"):
        if line.startswith("<!date^") and ">  " in line:
            out.append(line.split(">  ", 1)[1])
        elif out:
            out[-1] += "\n" + line
    return out
