"""Retention and forgetting a friend (issue #18): what the bridge deletes, and when.

* :mod:`bridge.privacy.retention` — ``retention_days`` per account: archived messages and media
  older than that are deleted daily, in bounded batches (a job on the low queue, started by the
  worker's ticker).
* :mod:`bridge.privacy.forget` — one friend's personal data deleted everywhere the bridge keeps it,
  as a work item on the conversation's stream (ordered with its other work, idempotent).

The Redis side of both is :mod:`bridge.store.forget`; the media files live in the media archive
(:mod:`bridge.archive.media`), deleted only when no conversation refers to them any more.
"""
