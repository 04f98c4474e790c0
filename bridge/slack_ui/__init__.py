"""Slack Block Kit layouts: the thread parent, modals, /pending."""
