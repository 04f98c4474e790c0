"""``python -m bridge.doctor``: is this deployment wired correctly? One line per check, ✓ or ✗
with what to do. Exit status 0 when everything passed, 1 otherwise (2: configuration error).

Checks: the configuration; Redis (reachable, AOF persistence on, ``maxmemory-policy
noeviction``); the Slack token (``auth.test``) and its scopes against
``slack-app-manifest.yml`` (``x-oauth-scopes``); the bot's membership of each triage
channel; for every LINE account the token (``GET /v2/bot/info``), the webhook URL set in
the console (``GET /v2/bot/channel/webhook/endpoint``) and a test call
(``POST /v2/bot/channel/webhook/test``: LINE sends a webhook to the bridge). Read-only,
except that the test call makes LINE send one empty webhook (like the console's Verify).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

from bridge.i18n import t
from bridge.manifest import MANIFEST
from bridge.runtime import Runtime
from bridge.settings import Settings, SettingsError


@dataclass
class Check:
    ok: bool
    text: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


def manifest_scopes() -> set[str]:
    """The bot scopes listed in slack-app-manifest.yml (``oauth_config.scopes.bot``)."""
    scopes: set[str] = set()
    in_bot = False
    for raw in MANIFEST.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.strip() == "bot:":
            in_bot = True
            continue
        if in_bot:
            if line.strip().startswith("- "):
                scopes.add(line.strip()[2:].strip())
            elif line.strip():
                in_bot = False
    return scopes


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def check_redis(rt: Runtime, lang: str) -> list[Check]:
    try:
        rt.redis.ping()
    except Exception as exc:  # noqa: BLE001
        return [Check(False, t("doctor.redis.bad", lang, error=_error(exc)))]
    from bridge.redisconn import redacted

    url = redacted(rt.settings.redis_url)  # never print a password
    out = [Check(True, t("doctor.redis.ok", lang, url=url))]
    try:
        aof = int(rt.redis.info("persistence").get("aof_enabled", 0)) == 1
        out.append(Check(aof, t("doctor.redis.aof.ok" if aof else "doctor.redis.aof.bad", lang)))
        policy = str(rt.redis.info("memory").get("maxmemory_policy", ""))
        ok = policy == "noeviction"
        out.append(Check(ok, t("doctor.redis.evict.ok" if ok else "doctor.redis.evict.bad", lang, policy=policy)))
    except Exception as exc:  # noqa: BLE001 - some managed Redis hide INFO sections
        out.append(Check(False, t("doctor.redis.aof.unknown", lang, error=_error(exc))))
    return out


def check_slack(rt: Runtime, lang: str) -> list[Check]:
    try:
        auth = rt.slack.auth_check()
    except Exception as exc:  # noqa: BLE001
        return [Check(False, t("doctor.slack.bad", lang, error=_error(exc)))]
    out = [Check(True, t("doctor.slack.ok", lang, user=auth["user_id"], team=auth["team"]))]
    wanted = manifest_scopes()
    if not auth["scopes"]:
        out.append(Check(False, t("doctor.scopes.unknown", lang)))
    elif missing := sorted(wanted - auth["scopes"]):
        out.append(Check(False, t("doctor.scopes.bad", lang, missing=", ".join(missing))))
    else:
        out.append(Check(True, t("doctor.scopes.ok", lang, count=len(wanted))))
    for channel in sorted(rt.accounts.channels()):
        try:
            member = auth["user_id"] in rt.slack.channel_members(channel)
            error = "" if member else "not_in_channel"
        except Exception as exc:  # noqa: BLE001
            member, error = False, _error(exc)
        out.append(Check(member, t("doctor.channel.ok" if member else "doctor.channel.bad", lang, channel=channel, error=error)))
    return out


def check_line(rt: Runtime, lang: str) -> list[Check]:
    out: list[Check] = []
    base = rt.settings.public_base_url.rstrip("/")
    for account in rt.accounts:
        gw = rt.lines.of(account.key)
        try:
            info = gw.bot_info()
        except Exception as exc:  # noqa: BLE001
            out.append(Check(False, t("doctor.line.bad", lang, account=account.key, error=_error(exc))))
            continue
        out.append(Check(True, t("doctor.line.ok", lang, account=account.key, name=info.display_name, user=info.user_id)))
        expected = (f"{base}/line/webhook/{account.key}", f"{base}/line/webhook")
        try:
            url, active = gw.webhook_endpoint()
        except Exception as exc:  # noqa: BLE001
            out.append(Check(False, t("doctor.webhook.error", lang, account=account.key, error=_error(exc))))
            continue
        if url.rstrip("/") not in expected:
            out.append(Check(False, t("doctor.webhook.wrong", lang, account=account.key, url=url or "-", expected=expected[0])))
            continue
        if not active:
            out.append(Check(False, t("doctor.webhook.off", lang, account=account.key)))
        else:
            out.append(Check(True, t("doctor.webhook.ok", lang, account=account.key, url=url)))
        try:
            success, detail = gw.test_webhook()
        except Exception as exc:  # noqa: BLE001
            success, detail = False, _error(exc)
        out.append(Check(success, t("doctor.webhook_test.ok" if success else "doctor.webhook_test.bad", lang,
                                    account=account.key, detail=detail)))
    return out


def check_archive(rt: Runtime, lang: str) -> list[Check]:
    """The media archive: writable now, and not failing (its last flushes, from Redis)."""
    from bridge.archive.health import describe

    where = rt.settings.archive_url or rt.settings.archive_dir
    try:
        error = rt.archive.check()
    except Exception as exc:  # noqa: BLE001
        error = _error(exc)
    try:
        state = describe(rt.store)
    except Exception:  # noqa: BLE001 (Redis is checked on its own line)
        state = {"failing": False, "pending": 0, "error": "", "since": ""}
    if error:
        return [Check(False, t("doctor.archive.bad", lang, where=where, error=error))]
    if state["failing"]:
        return [Check(False, t("doctor.archive.failing", lang, since=state["since"], error=state["error"],
                               pending=state["pending"]))]
    return [Check(True, t("doctor.archive.ok", lang, where=where, pending=state["pending"]))]


CHECKS: tuple[Callable[[Runtime, str], list[Check]], ...] = (check_redis, check_slack, check_line, check_archive)


def run(settings: Settings, emit: Callable[[str], None] = print) -> int:
    """Run every check, print one line each; return how many failed."""
    lang = settings.language
    rt = Runtime(settings)
    emit(Check(True, t("doctor.config.ok", lang, accounts=len(list(rt.accounts)), namespace=settings.namespace)).line())
    failed = 0
    for check in CHECKS:
        for result in check(rt, lang):
            emit(result.line())
            failed += not result.ok
    emit(t("doctor.summary.ok", lang) if not failed else t("doctor.summary.bad", lang, count=failed))
    return failed


def main() -> int:
    import os

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        lang = os.environ.get("BRIDGE_LANGUAGE", "ja") if os.environ.get("BRIDGE_LANGUAGE") in ("ja", "en") else "ja"
        print(Check(False, t("doctor.config.bad", lang, error=exc)).line())
        return 2
    return 1 if run(settings) else 0


if __name__ == "__main__":
    sys.exit(main())
