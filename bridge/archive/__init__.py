"""The archive (#18): every message of every conversation, and the media that passed through.

- :mod:`bridge.archive.entry`: the transcript entry schema (one JSON entry per message, in
  ``transcript:{conv_id}``) and the builders every send path records with.
- :mod:`bridge.archive.media`: :class:`MediaArchive`, content-addressed media files in a local
  directory (``BRIDGE_ARCHIVE_DIR``) or an object store through fsspec (``BRIDGE_ARCHIVE_URL``).
"""
