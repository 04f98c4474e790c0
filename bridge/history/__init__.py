"""Reading a conversation's history (issue #18): signed, personal links to a server-rendered page.

- :mod:`bridge.history.links`: the link (``<PUBLIC_BASE_URL>/history/<token>``), signed and expiring,
  bound to the Slack user it was made for.
- :mod:`bridge.history.view`: transcript entries → what the page shows (days, messages, events, matches).
- :mod:`bridge.history.render`: the HTML page (jinja2, autoescaped) and its Content-Security-Policy.
"""
