"""Slack Web API gateway: the only code that touches slack_sdk for the domain."""
