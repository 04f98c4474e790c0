"""Redis-backed domain state. Only this package touches Redis for domain state."""
from bridge.store.core import Store

__all__ = ["Store"]
