"""LINE Messaging API gateway: the only code that touches line-bot-sdk."""
