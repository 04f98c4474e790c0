"""Run a WSGI app on a real loopback HTTP server in a background thread."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class RunningServer:
    """A WSGI app served on ``url`` until :meth:`stop` is called."""

    url: str
    port: int
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` (threaded, so slow handlers don't block others); port 0 picks a free one."""
    server = make_server(host, port, app, threaded=True)
    real_port = server.server_port
    thread = threading.Thread(target=server.serve_forever, name=f"wsgi-{real_port}", daemon=True)
    thread.start()
    return RunningServer(url=f"http://{host}:{real_port}", port=real_port, server=server, thread=thread)
