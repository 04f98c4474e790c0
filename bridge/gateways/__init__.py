"""Gateways: the only code that touches the LINE and Slack SDKs.

They take and return neutral values (:mod:`bridge.model`, dicts of primitives) and turn
platform errors into :class:`~bridge.model.RetryLater` (transient) or
:class:`~bridge.model.DeliveryFailed` (permanent).
"""
