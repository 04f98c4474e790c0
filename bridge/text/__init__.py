"""Text conversion between Slack mrkdwn and LINE plain text (:mod:`bridge.text.mrkdwn` escapes
everything from LINE for Slack), and LINE's size limits."""
from bridge.text.limits import (  # noqa: F401
    LINE_MESSAGES_PER_REQUEST, LINE_TEXT_LIMIT, batch, preview, split_for_line, utf16_len,
)
from bridge.text.markup import mentioned_users, slack_to_line  # noqa: F401
