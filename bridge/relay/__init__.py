"""The relay: LINE → Slack, Slack → LINE, delivery, portals and forwarding."""
