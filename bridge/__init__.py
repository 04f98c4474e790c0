"""LINE–Slack Bridge: answer a LINE Official Account from Slack threads.

Data flows one way per direction:

* ``LINE webhook → handlers (verify, dedupe, enqueue) → rq job → bridge.domain → Slack gateway``
* ``Slack event → handlers (verify, dedupe, ack, enqueue) → rq job → bridge.domain → LINE gateway``

SDK objects never cross into :mod:`bridge.domain` or :mod:`bridge.engine.jobs`; they only
exist inside :mod:`bridge.gateways` and :mod:`handlers`.
"""
