"""When a scheduled job runs and which period a run covers (issue 13), pure: no Flask, no database.

A schedule is a five-field cron expression (分 時 日 月 曜日) read in Japan time. APScheduler's CronTrigger
does the calendar arithmetic, but its crontab reading numbers the weekdays from Monday (0 = 月), unlike
every cron an office will have seen (0 and 7 = 日): the weekday field is rewritten into names first.

A period is what a run is for, and with the job's name the key of the ledger (`billing-draft:2026-10`):
- `month`: the month of the run (2026-11);
- `previous-month`: the month before (run on 5 November, bill October: 2026-10);
- `day`: the day (2026-11-30);
- `minute`: the minute the run was due (2026-11-30 06:00): every scheduled time is its own run.
"""
import datetime as dt
import re
from zoneinfo import ZoneInfo

from .errors import DomainError
from .month import Month

TOKYO = ZoneInfo("Asia/Tokyo")
CRON_HELP = ("5つの項目（分 時 日 月 曜日）を半角の空白で区切って書いてください。"
             "例: 「0 7 5 * *」＝毎月5日 7:00、「30 2 * * *」＝毎日 2:30、「0 6 * * 1-5」＝平日 6:00（曜日は 0・7＝日、1＝月 … 6＝土）。")
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PERIOD_KINDS = ("month", "previous-month", "day", "minute")


def _weekdays(field: str) -> str:
    """Cron weekday numbers (0/7 日, 1 月 … 6 土) as APScheduler's names; names and * stay."""
    if field in ("*", "?"):
        return "*"
    parts = []
    for part in field.split(","):
        match = re.fullmatch(r"(\d)(?:-(\d))?(?:/(\d))?", part)
        if match is None:
            if re.search(r"\d", part):
                raise ValueError(part)
            parts.append(part)  # mon-fri, sun …
            continue
        first, last, step = match.group(1), match.group(2), match.group(3)
        first = int(first)
        last = int(last) if last is not None else (7 if step else first)
        step = int(step or 1)
        if first > 7 or last > 7 or first > last:
            raise ValueError(part)
        parts.extend(_DAYS[n] for n in range(first, last + 1, step))
    return ",".join(dict.fromkeys(parts))


def parse_cron(expression: str):
    """The CronTrigger (Japan time) of a five-field expression, or a DomainError saying how to write one."""
    from apscheduler.triggers.cron import CronTrigger

    text = " ".join(str(expression or "").replace("\u3000", " ").split())
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise DomainError(f"実行日時（cron）「{text}」を読めません: 項目が{len(fields)}つです。{CRON_HELP}", "cron")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday),
                           timezone=TOKYO)
    except ValueError:
        raise DomainError(f"実行日時（cron）「{text}」を読めません。{CRON_HELP}", "cron") from None


def normalize_cron(expression: str) -> str:
    """The expression as stored: checked, single half-width spaces."""
    parse_cron(expression)
    return " ".join(str(expression).replace("\u3000", " ").split())


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=TOKYO) if moment.tzinfo is None else moment.astimezone(TOKYO)


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TOKYO).replace(tzinfo=None)


def next_fire(expression: str, after: dt.datetime) -> dt.datetime | None:
    """The first time strictly after `after` (naive Japan time in and out)."""
    trigger = parse_cron(expression)
    start = _aware(after) + dt.timedelta(seconds=1)
    found = trigger.get_next_fire_time(None, start)
    return _naive(found) if found else None


def last_fire(expression: str, now: dt.datetime, since: dt.datetime, limit: int = 200_000) -> dt.datetime | None:
    """The latest scheduled time in (since, now], or None. Walks forward from `since` (APScheduler has no
    'previous'); callers keep `since` recent (the catch-up looks back at most a couple of months)."""
    trigger = parse_cron(expression)
    now_aware, cursor = _aware(now), _aware(since) + dt.timedelta(seconds=1)
    found = None
    for _ in range(limit):
        moment = trigger.get_next_fire_time(None, cursor)
        if moment is None or moment > now_aware:
            break
        found = moment
        cursor = moment + dt.timedelta(seconds=1)
    return _naive(found) if found else None


def period_for(kind: str, moment: dt.datetime) -> str:
    """The period a run due at `moment` (Japan time) covers."""
    if kind == "month":
        return str(Month.containing(moment.date()))
    if kind == "previous-month":
        return str(Month.containing(moment.date()).previous())
    if kind == "day":
        return moment.strftime("%Y-%m-%d")
    if kind == "minute":
        return moment.strftime("%Y-%m-%d %H:%M")
    raise ValueError(kind)


def parse_period(kind: str, text: str) -> str:
    """A period typed by a person (--period, the history screen), checked and written as stored."""
    text = str(text or "").strip()
    if kind in ("month", "previous-month"):
        return str(Month.parse(text, "対象期間"))
    formats = {"day": ("%Y-%m-%d", "%Y/%m/%d"), "minute": ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")}[kind]
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).strftime(formats[0])
        except ValueError:
            continue
    example = {"day": "2026-11-30", "minute": "2026-11-30 06:00"}[kind]
    raise DomainError(f"対象期間「{text}」を読めません。{example} の形で指定してください。", "period")
