"""Text conversion between Slack mrkdwn and LINE plain text, and LINE's size limits."""
from bridge.text.markup import (  # noqa: F401
    LINE_MESSAGES_PER_REQUEST, LINE_TEXT_LIMIT, batch, line_to_slack, preview, slack_to_line, split_for_line, utf16_len,
)
