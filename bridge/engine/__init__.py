"""The engine room: queues and timers, in one package.

* :mod:`~bridge.engine.work` — the names of the work (kinds, streams);
* :mod:`~bridge.engine.inbox` — the front door: accept, accept later, drain, and the ticker's tasks;
* :mod:`~bridge.engine.streams`, :mod:`~bridge.engine.drain`, :mod:`~bridge.engine.sweep`,
  :mod:`~bridge.engine.due` — its parts, each stating its guarantees;
* :mod:`~bridge.engine.ticker` — one thread per worker running registered periodic tasks;
* :mod:`~bridge.engine.jobs` — every rq entry point, enqueued by function reference.

The engine imports neither the domain nor the automation nor the runtime: the composition root
(:mod:`bridge.runtime`) wires them, passes the domain to :meth:`Inbox.drain` as a
:class:`~bridge.engine.drain.Processor` and registers the periodic tasks.
"""
