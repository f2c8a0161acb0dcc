"""Demo usage (issue 9 item 18): two months of ETC利用照会-shaped files for the demo cards, so that a
newcomer sees every screen with content — the older month closed, the newer one a draft with a few
未登録カード and one 紛失後利用 to resolve.

The files are written exactly as the ETC利用照会サービス download looks (../shared/samples/README.md:
cp932, CRLF, YY/MM/DD, the discount as a negative number, 車種 as a number) and imported through the
same service as any upload, so road operators come from the shipped IC master and the usual checks run.
Tolls are the 普通車 ETC tolls of the sections (rounded, as of 2026), times the class factors of
etc-domain.md §5 (中型 1.2, 大型 1.65, 特大 2.75, 軽 0.8); 深夜割引 is 30 % (0:00–4:00).
"""
import datetime as dt
import io
import random
from dataclasses import dataclass

# (entry IC, exit IC, 普通車 toll): sections of NEXCO 東・中・西日本 whose ICs are in app/data/ic_master.csv
_SECTIONS = [
    ("東京", "厚木", 1320), ("東京", "御殿場", 2550), ("横浜町田", "静岡", 3680), ("八王子", "甲府昭和", 2900),
    ("八王子", "大月", 1480), ("名古屋", "浜松", 2950), ("小牧", "豊川", 1870), ("一宮", "岡崎", 1640),
    ("浦和", "宇都宮", 2780), ("岩槻", "佐野藤岡", 1640), ("三郷", "岩槻", 930), ("京都南", "吹田", 1010),
]
_CLASS_FACTOR = {1: 1.0, 4: 1.2, 2: 1.65, 3: 2.75, 5: 0.8}
HEADER = ("利用年月日（自）,時分（自）,利用年月日（至）,時分（至）,利用ＩＣ（自）,利用ＩＣ（至）,割引前料金,"
          "ＥＴＣ割引額,通行料金,車種,車両番号,ＥＴＣカード番号,備考")


@dataclass(frozen=True)
class DemoCardUse:
    """Who drove with a card in the month: its number, the plate and class written in the rows, and the
    days it may appear (a lost card stops on its loss day, a reissued card starts on it)."""
    number: str
    plate: str
    vehicle_class: int
    first_day: dt.date
    last_day: dt.date
    trips: int


def demo_usage_file(uses: list[DemoCardUse], rng: random.Random) -> bytes:
    """One month's ETC利用照会 CSV (cp932, CRLF) with `trips` passages per card, in date order."""
    rows = []
    for use in uses:
        span = (use.last_day - use.first_day).days
        for _ in range(use.trips):
            day = use.first_day + dt.timedelta(days=rng.randint(0, max(span, 0)))
            night = rng.random() < 0.15
            start = dt.datetime.combine(day, dt.time(rng.randint(0, 3) if night else rng.randint(6, 20), rng.randint(0, 59)))
            entry, exit_, toll = rng.choice(_SECTIONS)
            if rng.random() < 0.5:
                entry, exit_ = exit_, entry
            before = int(round(toll * _CLASS_FACTOR.get(use.vehicle_class, 1.0), -1))
            discount = -int(before * 0.3) if night else 0
            end = start + dt.timedelta(minutes=30 + toll // 40)
            rows.append((start, end, entry, exit_, before, discount, use, "深夜割引" if night else ""))
    rows.sort(key=lambda r: (r[1], r[6].number))
    lines = [HEADER]
    for start, end, entry, exit_, before, discount, use, remark in rows:
        lines.append(f"{start:%y/%m/%d},{start:%H:%M},{end:%y/%m/%d},{end:%H:%M},{entry},{exit_},{before},{discount},"
                     f"{before + discount},{use.vehicle_class},{use.plate},{use.number},{remark}")
    return ("\r\n".join(lines) + "\r\n").encode("cp932")
