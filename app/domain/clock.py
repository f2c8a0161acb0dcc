"""Japan time: every date and time Tollbook shows, stores or decides with (締め日, 振替日, 異動日,
file names) is Asia/Tokyo (architecture.md), whatever the server's own time zone is. UTC+9 has no
daylight saving time, so a fixed offset is exact."""
import datetime as dt

JST = dt.timezone(dt.timedelta(hours=9), "JST")


def now_jst() -> dt.datetime:
    """Now in Japan, naive (as every stored date-time is)."""
    return dt.datetime.now(JST).replace(tzinfo=None)


def today_jst() -> dt.date:
    return now_jst().date()
