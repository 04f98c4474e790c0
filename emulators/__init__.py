"""Local emulators of the LINE Messaging API and the Slack Web API.

They speak the platforms' real wire formats so that the unmodified official SDKs
(``linebot.v3`` with ``Configuration(host=...)``, ``slack_sdk.WebClient(base_url=...)``)
can be pointed at them in tests, the demo and the benchmarks.
"""
