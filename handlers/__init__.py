"""HTTP adapters: verify, dedupe, enqueue, answer. No business rules live here."""
