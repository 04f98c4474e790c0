"""One validated settings object, built from the environment: the one reader of environment variables.

It also reads the configuration file named by ``BRIDGE_CONFIG`` once (:mod:`bridge.config`):
its ``[[accounts]]`` join the account of the single-account variables in :attr:`Settings.accounts`,
its other sections become :attr:`Settings.config`. Start-up fails fast with :class:`SettingsError`
naming every missing or malformed variable and every problem of the file (``file:line: …``), so a
misconfigured deploy never half-runs.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlparse

from bridge.accounts import Account, AccountSet, default_account_from_env
from bridge.config import BridgeConfig, ConfigError, ConfigSource
from bridge.config.accounts import check_unique, parse_accounts

LINE_DEFAULT_API = "https://api.line.me"
LINE_DEFAULT_API_DATA = "https://api-data.line.me"
SLACK_DEFAULT_API = "https://slack.com/api/"
LANGUAGES = ("ja", "en")
# https://developers.line.biz/en/reference/messaging-api/#send-reply-message: "Reply tokens must be
# used within one minute after receiving the webhook".
REPLY_TOKEN_LIFETIME = 60.0
REPLY_TOKEN_TTL_DEFAULT = 50.0  # the margin: clock skew between LINE and us, queueing, the request itself


#: Raised when the environment or the configuration file cannot produce valid settings (``.problems``).
SettingsError = ConfigError


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    redis_url: str
    public_base_url: str
    line_api_base_url: str = LINE_DEFAULT_API
    line_api_data_base_url: str = LINE_DEFAULT_API_DATA
    slack_api_base_url: str = SLACK_DEFAULT_API
    language: str = "ja"
    namespace: str = "lsb"
    # LINE_REPLY_TOKEN_TTL: how long after a friend's message its reply token is still used (free
    # replies). LINE: "Reply tokens must be used within one minute after receiving the webhook"
    # (https://developers.line.biz/en/reference/messaging-api/#send-reply-message). 50 s leaves
    # 10 s for the clocks of LINE and the bridge to disagree and for the reply's own request.
    reply_token_ttl: float = REPLY_TOKEN_TTL_DEFAULT
    accounts: tuple[Account, ...] = ()
    config: BridgeConfig = field(default_factory=BridgeConfig)  # the other sections of BRIDGE_CONFIG
    forward_alert_after: float = 600.0   # s a forwarding target fails before the triage channel is told
    send_delay: float = 10.0          # BRIDGE_SEND_DELAY_SECONDS: the undo window of staff replies (0: at once)
    image_set_wait: float = 45.0      # BRIDGE_IMAGE_SET_WAIT_SECONDS: how long an incomplete imageSet waits for the rest
    sweep_interval: float = 30.0      # BRIDGE_SWEEP_INTERVAL: s between automation sweeps (SLA, hours, reminders)
    backfill_rate: float = 0.0        # BRIDGE_BACKFILL_RATE: conversations/s one background backfill walks (0: as fast as Redis answers)
    media_secret: str = field(default="", repr=False)  # BRIDGE_MEDIA_SECRET: signs /media links (default: derived)
    media_link_ttl: int = 14 * 24 * 3600  # BRIDGE_MEDIA_LINK_TTL: seconds a /media link stays valid
    chart_font: str = ""              # BRIDGE_CHART_FONT: font file of the /stats chart (default: a CJK font found)
    # BRIDGE_EVENT_MAX_AGE: seconds a webhook event is remembered for dedupe, and the age past which
    # a (signed) LINE event is refused as a replay: one setting, so nothing is old enough to be
    # forgotten by the dedupe yet young enough to be processed again.
    event_max_age: int = 3 * 24 * 3600
    metrics_token: str = field(default="", repr=False)  # BRIDGE_METRICS_TOKEN: bearer token of GET /metrics
    # SLACK_RATE_POST / _UPDATE / _REACTIONS (``rate,burst``) over the defaults; None: SLACK_RATE_LIMITS=off
    # (no pacing). Pairs of (tier, bridge.slack.ratelimit.Limit).
    slack_rate_limits: tuple | None = field(default_factory=lambda: _default_slack_limits())
    history_link_ttl: int = 24 * 3600  # BRIDGE_HISTORY_LINK_TTL: seconds a /history page link stays valid
    history_page_size: int = 200       # BRIDGE_HISTORY_PAGE_SIZE: entries per /history page (newest page first)
    # BRIDGE_THREAD_MAX_AGE_DAYS: a thread older than this is gone from Slack's view (the free plan shows
    # 90 days): a friend writing again opens a new thread for the same conversation. 0: never.
    thread_max_age_days: int = 85
    archive_dir: str = "archive"      # BRIDGE_ARCHIVE_DIR: the local media archive (relative: to the working directory)
    archive_url: str = ""             # BRIDGE_ARCHIVE_URL: an object store instead (s3://bucket/prefix, via fsspec)
    archive_endpoint: str = ""        # BRIDGE_ARCHIVE_ENDPOINT: an S3-compatible endpoint (MinIO, R2…); "" = AWS
    archive_spool: str = ""           # BRIDGE_ARCHIVE_SPOOL_DIR: where media wait for the object store (default: a temp dir)

    @property
    def account_set(self) -> AccountSet:
        return AccountSet(self.accounts)

    @property
    def queue_name(self) -> str:
        """The rq queue of the relay and triage jobs (work that people wait for)."""
        return self.namespace

    @property
    def low_queue_name(self) -> str:
        """The rq queue of cosmetic work (parent refreshes); workers take it only when the main one is empty."""
        return f"{self.namespace}-low"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        problems: list[str] = []

        def required(name: str) -> str:
            value = (env.get(name) or "").strip()
            if not value:
                problems.append(f"{name} is not set")
            return value

        from bridge.redisconn import SCHEMES, parse_sentinel, redacted

        def check_url(name: str, value: str, schemes: tuple[str, ...], shown=redacted) -> None:
            """A URL setting; a bad one is named with any credentials in it masked."""
            if value:
                try:
                    parsed = urlparse(value)
                    bad = parsed.scheme not in schemes or not (parsed.netloc or parsed.path)
                except ValueError:  # e.g. an unbalanced [ in the host
                    bad = True
                if bad:
                    problems.append(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)} (got {shown(value)!r})")

        values = {
            "slack_bot_token": required("SLACK_BOT_TOKEN"),
            "slack_signing_secret": required("SLACK_SIGNING_SECRET"),
            "redis_url": required("REDIS_URL"),
            "public_base_url": required("PUBLIC_BASE_URL"),
        }
        if values["slack_bot_token"] and not values["slack_bot_token"].startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        check_url("REDIS_URL", values["redis_url"], SCHEMES)  # never print its password
        try:
            parse_sentinel(values["redis_url"])
        except ValueError as exc:
            problems.append(f"REDIS_URL: {exc}")
        check_url("PUBLIC_BASE_URL", values["public_base_url"], ("http", "https"))

        line_base = (env.get("LINE_API_BASE_URL") or "").strip().rstrip("/")
        check_url("LINE_API_BASE_URL", line_base, ("http", "https"))
        slack_base = (env.get("SLACK_API_BASE_URL") or SLACK_DEFAULT_API).strip()
        check_url("SLACK_API_BASE_URL", slack_base, ("http", "https"))
        if not slack_base.endswith("/"):
            slack_base += "/"  # WebClient joins method names onto base_url verbatim

        language = (env.get("BRIDGE_LANGUAGE") or "ja").strip().lower()
        if language not in LANGUAGES:
            problems.append(f"BRIDGE_LANGUAGE must be one of {', '.join(LANGUAGES)} (got {language!r})")
        namespace = (env.get("BRIDGE_NAMESPACE") or "lsb").strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", namespace):
            problems.append("BRIDGE_NAMESPACE may only contain letters, digits, '_' and '-' (it names Redis keys and the rq queue)")
        ttl_raw = (env.get("LINE_REPLY_TOKEN_TTL") or str(REPLY_TOKEN_TTL_DEFAULT)).strip()
        try:
            ttl = float(ttl_raw)
            if not 0 <= ttl <= REPLY_TOKEN_LIFETIME:
                raise ValueError
        except ValueError:
            problems.append(f"LINE_REPLY_TOKEN_TTL must be a number of seconds between 0 and {REPLY_TOKEN_LIFETIME:g}: LINE "
                            f"guarantees a reply token for one minute after the webhook, a longer wait would push "
                            f"anyway after a failed reply (got {ttl_raw!r})")
            ttl = REPLY_TOKEN_TTL_DEFAULT
        media = _media_settings(env, problems)
        config_path = (env.get("BRIDGE_CONFIG") or "").strip() or None
        source = ConfigSource()
        if config_path and not os.path.isfile(config_path):
            problems.append(f"BRIDGE_CONFIG points to {config_path!r}, which is not a file")
        elif config_path:
            try:
                source = ConfigSource.read(config_path)  # the one read of the file
            except ConfigError as exc:
                problems.extend(exc.errors)
        before_accounts = len(problems)
        accounts = parse_accounts(source, env, problems)
        single = [n for n in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SLACK_TRIAGE_CHANNEL") if env.get(n)]
        if single or not accounts:
            # Today's single-account variables define the account "default".
            default = default_account_from_env(env, problems)
            if default:
                accounts.insert(0, default)
        check_unique(accounts, problems)
        config = BridgeConfig()
        if len(problems) == before_accounts:  # the other sections name account keys: check them against valid accounts
            config = BridgeConfig.of(source, [a.key for a in accounts], problems)
        alert_raw = (env.get("BRIDGE_FORWARD_ALERT_AFTER") or "600").strip()
        try:
            forward_alert_after = float(alert_raw)
            if forward_alert_after < 0:
                raise ValueError
        except ValueError:
            problems.append(f"BRIDGE_FORWARD_ALERT_AFTER must be a number of seconds (got {alert_raw!r})")
            forward_alert_after = 600.0

        chart_font = _chart_font(env, problems)
        hardening = _hardening_settings(env, problems)
        slack_rate_limits = _slack_rate_limits(env, problems)
        history = _history_settings(env, problems)
        archive = _archive_settings(env, problems, check_url)

        if problems:
            raise SettingsError(problems)
        return cls(
            **values,
            line_api_base_url=line_base or LINE_DEFAULT_API,
            line_api_data_base_url=line_base or LINE_DEFAULT_API_DATA,
            slack_api_base_url=slack_base,
            language=language,
            namespace=namespace,
            reply_token_ttl=ttl,
            accounts=tuple(accounts),
            config=config,
            forward_alert_after=forward_alert_after,
            chart_font=chart_font,
            **media,
            **hardening,
            slack_rate_limits=slack_rate_limits,
            **history,
            **archive,
        )


def _media_settings(env: Mapping[str, str], problems: list[str]) -> dict:
    """BRIDGE_SEND_DELAY_SECONDS, BRIDGE_IMAGE_SET_WAIT_SECONDS, BRIDGE_MEDIA_SECRET, BRIDGE_MEDIA_LINK_TTL (see docs/media.md),
    and the numeric pacing knobs BRIDGE_SWEEP_INTERVAL and BRIDGE_BACKFILL_RATE."""
    out: dict = {"media_secret": (env.get("BRIDGE_MEDIA_SECRET") or "").strip()}
    for name, key, default, low, high in (("BRIDGE_SEND_DELAY_SECONDS", "send_delay", "10", 0, 600),
                                         ("BRIDGE_IMAGE_SET_WAIT_SECONDS", "image_set_wait", "45", 1, 600),
                                         ("BRIDGE_SWEEP_INTERVAL", "sweep_interval", "30", 0.2, 3600),
                                         ("BRIDGE_BACKFILL_RATE", "backfill_rate", "0", 0, 1_000_000),
                                         ("BRIDGE_MEDIA_LINK_TTL", "media_link_ttl", str(14 * 24 * 3600), 60, 90 * 86400)):
        raw = (env.get(name) or default).strip()
        try:
            value = float(raw)
            if not low <= value <= high:
                raise ValueError
        except ValueError:
            problems.append(f"{name} must be a number between {low} and {high} (got {raw!r})")
            value = float(default)
        out[key] = value if key in ("send_delay", "image_set_wait", "sweep_interval", "backfill_rate") else int(value)
    return out


EVENT_MAX_AGE_RANGE = (3600, 30 * 86400)


def _hardening_settings(env: Mapping[str, str], problems: list[str]) -> dict:
    """BRIDGE_EVENT_MAX_AGE (dedupe window = replay age limit) and BRIDGE_METRICS_TOKEN (see docs/operations.md)."""
    raw = (env.get("BRIDGE_EVENT_MAX_AGE") or str(3 * 24 * 3600)).strip()
    low, high = EVENT_MAX_AGE_RANGE
    try:
        max_age = int(float(raw))
        if not low <= max_age <= high:
            raise ValueError
    except ValueError:
        problems.append(f"BRIDGE_EVENT_MAX_AGE must be a number of seconds between {low} and {high} (got {raw!r})")
        max_age = 3 * 24 * 3600
    token = (env.get("BRIDGE_METRICS_TOKEN") or "").strip()
    if token and (len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token):
        problems.append("BRIDGE_METRICS_TOKEN must be at least 16 printable ASCII characters without spaces")
    return {"event_max_age": max_age, "metrics_token": token}


HISTORY_LINK_TTL_RANGE = (300, 30 * 86400)


def _history_settings(env: Mapping[str, str], problems: list[str]) -> dict:
    """BRIDGE_HISTORY_LINK_TTL (seconds a history page link is valid), BRIDGE_HISTORY_PAGE_SIZE (entries
    per page: a page costs its own size, never the conversation's) and BRIDGE_THREAD_MAX_AGE_DAYS
    (days after which a friend's new message opens a new thread; 0 = never)."""
    out: dict = {}
    for name, key, default, low, high in (("BRIDGE_HISTORY_LINK_TTL", "history_link_ttl", 24 * 3600, *HISTORY_LINK_TTL_RANGE),
                                         ("BRIDGE_HISTORY_PAGE_SIZE", "history_page_size", 200, 10, 2000),
                                         ("BRIDGE_THREAD_MAX_AGE_DAYS", "thread_max_age_days", 85, 0, 3650)):
        raw = (env.get(name) or str(default)).strip()
        try:
            value = int(raw)
            if not low <= value <= high:
                raise ValueError
        except ValueError:
            problems.append(f"{name} must be a whole number between {low} and {high} (got {raw!r})")
            value = default
        out[key] = value
    return out


def _archive_settings(env: Mapping[str, str], problems: list[str], check_url) -> dict:
    """BRIDGE_ARCHIVE_DIR, BRIDGE_ARCHIVE_URL, BRIDGE_ARCHIVE_ENDPOINT, BRIDGE_ARCHIVE_SPOOL_DIR (bridge.archive.media)."""
    directory = (env.get("BRIDGE_ARCHIVE_DIR") or "archive").strip()
    url = (env.get("BRIDGE_ARCHIVE_URL") or "").strip()
    endpoint = (env.get("BRIDGE_ARCHIVE_ENDPOINT") or "").strip()
    spool = (env.get("BRIDGE_ARCHIVE_SPOOL_DIR") or "").strip()
    check_url("BRIDGE_ARCHIVE_ENDPOINT", endpoint, ("http", "https"))
    for name, path in (("BRIDGE_ARCHIVE_SPOOL_DIR", spool), ("BRIDGE_ARCHIVE_DIR", "" if url else directory)):
        if not path:
            continue
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.exists(path) and not os.path.isdir(path):
            problems.append(f"{name} {path!r} exists and is not a directory")
        elif not os.path.isdir(path) and not os.path.isdir(parent):
            problems.append(f"{name} {path!r}: its parent directory {parent!r} does not exist")
        elif not os.access(path if os.path.isdir(path) else parent, os.W_OK):
            problems.append(f"{name} {path!r} is not writable")
    if url:
        protocol, sep, path = url.partition("://")
        if not sep or not path.strip("/"):
            problems.append(f"BRIDGE_ARCHIVE_URL must be an fsspec URL such as s3://bucket/prefix (got {url!r})")
        else:
            from fsspec.registry import known_implementations

            if protocol not in known_implementations:
                problems.append(f"BRIDGE_ARCHIVE_URL: fsspec knows no storage {protocol!r}:// (e.g. s3://bucket/prefix)")
            else:
                try:
                    import fsspec

                    fsspec.get_filesystem_class(protocol)
                except (ImportError, ValueError) as exc:
                    problems.append(f"BRIDGE_ARCHIVE_URL: the library for {protocol}:// is not installed "
                                    f"(pip install 'line-slack-bridge[s3]'; {exc})")
    return {"archive_dir": directory, "archive_url": url, "archive_endpoint": endpoint, "archive_spool": spool}


def _chart_font(env: Mapping[str, str], problems: list[str]) -> str:
    """BRIDGE_CHART_FONT: a TrueType/OpenType file Pillow can load (see bridge.automation.chart)."""
    path = (env.get("BRIDGE_CHART_FONT") or "").strip()
    if not path:
        return ""
    if not os.path.isfile(path):
        problems.append(f"BRIDGE_CHART_FONT points to {path!r}, which is not a file")
        return ""
    from PIL import ImageFont

    try:
        ImageFont.truetype(path, 12)
    except OSError as exc:
        problems.append(f"BRIDGE_CHART_FONT {path!r} is not a font Pillow can load ({exc})")
    return path


def _default_slack_limits() -> tuple:
    from bridge.slack.ratelimit import DEFAULT_LIMITS

    return tuple(sorted(DEFAULT_LIMITS.items()))


def _slack_rate_limits(env: Mapping[str, str], problems: list[str]) -> tuple | None:
    """SLACK_RATE_LIMITS / SLACK_RATE_POST / _UPDATE / _REACTIONS (see docs/rate-limits.md)."""
    from bridge.slack.ratelimit import limits_from_env

    try:
        limits = limits_from_env(env)
    except ValueError as exc:
        problems.append(str(exc))
        return _default_slack_limits()
    return None if limits is None else tuple(sorted(limits.items()))
