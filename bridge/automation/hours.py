"""Business hours (応答時間): is the account open now, when does it open next, and how many
business seconds lie between two instants (what SLA targets are counted in).

A day's opening ranges come from, in order: a special opening for that date, a custom
closed day or a national holiday (closed), else the weekly schedule. Ranges are local
times of the configured time zone (DST is handled by ``zoneinfo``: a range is converted
to epoch seconds per date). Without an ``[hours]`` section the account is always open.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bridge.config.automation_model import HoursConfig
from bridge.i18n import t

MAX_DAYS = 400      # how far next_open / business time arithmetic looks (a year of closure = "never")


class Schedule:
    def __init__(self, cfg: HoursConfig):
        self.cfg = cfg
        self.tz = ZoneInfo(cfg.timezone)
        self._special = dict(cfg.special)
        self._holidays = None
        if cfg.configured and cfg.holidays:
            import holidays

            try:
                self._holidays = holidays.country_holidays(cfg.holidays, language="ja")
            except (NotImplementedError, KeyError, ValueError):
                self._holidays = holidays.country_holidays(cfg.holidays)
        self._intervals = lru_cache(maxsize=2048)(self._compute_intervals)

    @property
    def always_open(self) -> bool:
        return not self.cfg.configured

    # -- one day ---------------------------------------------------------------------
    def day_rule(self, d: date) -> tuple[tuple[tuple[int, int], ...], str, str]:
        """(ranges, why, holiday name): why is "special", "closed", "holiday" or "weekly"."""
        if d in self._special:
            return self._special[d], "special", ""
        if d in self.cfg.closed:
            return (), "closed", ""
        if self._holidays is not None and d in self._holidays:
            return (), "holiday", str(self._holidays.get(d))
        return self.cfg.weekly[d.weekday()], "weekly", ""

    def _compute_intervals(self, d: date) -> tuple[tuple[float, float], ...]:
        out = []
        for start, end in self.day_rule(d)[0]:
            out.append((self._at(d, start), self._at(d, end)))
        return tuple(out)

    def _at(self, d: date, minute: int) -> float:
        day = d + timedelta(days=minute // 1440)
        m = minute % 1440
        return datetime(day.year, day.month, day.day, m // 60, m % 60, tzinfo=self.tz).timestamp()

    def local_date(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.tz).date()

    def intervals(self, d: date) -> tuple[tuple[float, float], ...]:
        """The open intervals of local date ``d``, as epoch seconds."""
        return self._intervals(d)

    # -- questions ---------------------------------------------------------------------
    def is_open(self, ts: float) -> bool:
        if self.always_open:
            return True
        return any(s <= ts < e for s, e in self.intervals(self.local_date(ts)))

    def next_open(self, ts: float) -> float | None:
        """When the account is next open at or after ``ts`` (``ts`` itself when open); None: not within a year."""
        if self.always_open:
            return ts
        d = self.local_date(ts)
        for i in range(MAX_DAYS):
            for s, e in self.intervals(d + timedelta(days=i)):
                if e > ts:
                    return max(s, ts)
        return None

    def closes_at(self, ts: float) -> float | None:
        """End of the open interval containing ``ts`` (None when closed or always open)."""
        if self.always_open:
            return None
        for s, e in self.intervals(self.local_date(ts)):
            if s <= ts < e:
                return e
        return None

    def business_seconds(self, start: float, end: float) -> float:
        """Open time between ``start`` and ``end`` (wall-clock time when always open)."""
        if end <= start:
            return 0.0
        if self.always_open:
            return end - start
        total = 0.0
        d, last = self.local_date(start), self.local_date(end)
        for _ in range(MAX_DAYS):
            for s, e in self.intervals(d):
                total += max(0.0, min(e, end) - max(s, start))
            if d >= last:
                break
            d += timedelta(days=1)
        return total

    def add_business(self, start: float, seconds: float) -> float | None:
        """The instant when ``seconds`` of open time have passed since ``start`` (a deadline)."""
        if self.always_open:
            return start + seconds
        left = seconds
        d = self.local_date(start)
        for i in range(MAX_DAYS):
            for s, e in self.intervals(d + timedelta(days=i)):
                s = max(s, start)
                if e <= s:
                    continue
                if e - s >= left:
                    return s + left
                left -= e - s
        return None

    def subtract_business(self, end: float, seconds: float) -> float:
        """The latest instant ``x`` with ``business_seconds(x, end) >= seconds``: anything that started
        at or before it has waited at least ``seconds`` of open time (0.0 when more than a year back)."""
        if self.always_open:
            return end - seconds
        left = seconds
        d = self.local_date(end)
        for i in range(MAX_DAYS):
            for s, e in reversed(self.intervals(d - timedelta(days=i))):
                e = min(e, end)
                if e <= s:
                    continue
                if e - s >= left:
                    return e - left
                left -= e - s
        return 0.0


class Schedules:
    """One :class:`Schedule` per account (built once per process)."""

    def __init__(self, automation):
        self.automation = automation
        self._by_account: dict[str, Schedule] = {}

    def of(self, account: str) -> Schedule:
        if account not in self._by_account:
            self._by_account[account] = Schedule(self.automation.of(account).hours)
        return self._by_account[account]


# -- formatting ------------------------------------------------------------------------------
def format_when(ts: float, schedule: Schedule, lang: str) -> str:
    """A local time people read in a message to a friend: 「11月23日(月) 10:00」 / "Mon 23 Nov 10:00"."""
    dt = datetime.fromtimestamp(ts, schedule.tz)
    day = t(f"hours.weekday.{dt.weekday()}", lang)
    if lang == "en":
        return f"{day} {dt.day} {dt.strftime('%b')} {dt:%H:%M}"
    return f"{dt.month}月{dt.day}日({day}) {dt:%H:%M}"


def format_ranges(ranges) -> str:
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in ranges)


def schedule_lines(schedule: Schedule, start: float, days: int, lang: str) -> list[str]:
    """``python -m bridge.admin hours``: one line per day."""
    out = []
    d0 = schedule.local_date(start)
    for i in range(days):
        d = d0 + timedelta(days=i)
        day = t(f"hours.weekday.{d.weekday()}", lang)
        if schedule.always_open:
            out.append(f"{d.isoformat()} ({day})  {t('hours.always_open', lang)}")
            continue
        ranges, why, name = schedule.day_rule(d)
        what = format_ranges(ranges) if ranges else t("hours.closed", lang)
        note = {"special": t("hours.why.special", lang), "closed": t("hours.why.closed", lang),
                "holiday": t("hours.why.holiday", lang, name=name)}.get(why, "")
        out.append(f"{d.isoformat()} ({day})  {what}" + (f"  [{note}]" if note else ""))
    return out
