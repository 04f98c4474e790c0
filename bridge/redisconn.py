"""Redis connections from ``REDIS_URL``: a plain or TLS URL, a Unix socket, or Redis Sentinel.

    redis://[:password@]host:6379/0            rediss://… (TLS)            unix:///run/redis.sock?db=0
    redis+sentinel://[:password@]s1:26379,s2:26379,s3:26379/<service>[/<db>]
    rediss+sentinel://…                        (TLS to the master and the replicas)

With Sentinel, the client asks the sentinels for the current master of ``<service>`` and asks
again after a failover (redis-py's ``Sentinel.master_for``: a connection error makes the pool
rediscover the master). The password in the URL is the master's; ``?sentinel_password=`` sets
the sentinels' own when they require one. The rq worker gets the same connection through
:mod:`bridge.rqconfig` (the Procfile's ``-c bridge.rqconfig``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")


@dataclass
class SentinelURL:
    instances: list[tuple[str, int]]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    sentinel_kwargs: dict = field(default_factory=dict)


def parse_sentinel(url: str) -> SentinelURL | None:
    """The parts of a ``redis+sentinel://`` URL; None for any other URL. ValueError when malformed."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis+sentinel", "rediss+sentinel"):
        return None
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    instances = []
    for n, host in enumerate(hosts.split(","), start=1):
        name, _, port = host.strip().rpartition(":") if ":" in host else (host.strip(), "", "26379")
        if not name or not port.isdigit():  # not echoed: with an unencoded '/' in the password it is part of it
            raise ValueError(f"sentinel address #{n} is not host:port")
        instances.append((name, int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("a Sentinel URL names the service and optionally the db: redis+sentinel://host:26379/mymaster/0")
    query = parse_qs(parts.query)
    sentinel_kwargs = {}
    if query.get("sentinel_password"):
        sentinel_kwargs["password"] = query["sentinel_password"][0]
    return SentinelURL(instances, unquote(path[0]), int(path[1]) if len(path) == 2 else 0,
                       unquote(username) or None, unquote(password) or None,
                       parts.scheme == "rediss+sentinel", sentinel_kwargs)


def connect(url: str, *, decode_responses: bool = False, **kwargs) -> redis.Redis:
    """A client for ``url`` (see the module doc); ``kwargs`` go to every connection."""
    found = parse_sentinel(url)
    if found is None:
        return redis.Redis.from_url(url, decode_responses=decode_responses, **kwargs)
    sentinel = Sentinel(found.instances, sentinel_kwargs=found.sentinel_kwargs or None,
                        socket_timeout=kwargs.get("socket_timeout", 5))
    return sentinel.master_for(found.service, db=found.db, username=found.username, password=found.password,
                               ssl=found.ssl, decode_responses=decode_responses, **kwargs)


def rq_settings(url: str) -> dict:
    """What rq's ``-c`` config module must define for ``url`` (``REDIS_URL`` or ``SENTINEL``)."""
    found = parse_sentinel(url)
    if found is None:
        return {"REDIS_URL": url}
    return {"SENTINEL": {"INSTANCES": found.instances, "MASTER_NAME": found.service, "DB": found.db,
                         "USERNAME": found.username, "PASSWORD": found.password, "SSL": found.ssl,
                         "SENTINEL_KWARGS": found.sentinel_kwargs, "CONNECTION_KWARGS": {"health_check_interval": 30}}}


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``[redacted]`` (for messages and logs; see :mod:`bridge.urls`)."""
    from bridge.urls import redacted_redis_url

    return redacted_redis_url(url)
