"""Text conversion between Slack mrkdwn and LINE plain text, and LINE's size limits."""
from bridge.text.limits import (  # noqa: F401
    LINE_MESSAGES_PER_REQUEST, LINE_TEXT_LIMIT, batch, preview, split_for_line, utf16_len,
)
from bridge.text.markup import line_to_slack, slack_to_line  # noqa: F401
