"""Synthetic ETC usage data for the import benchmark (docs/performance.md).

Writes, deterministically from a seed:

* an etc-meisai CSV (the header of app/importers/profiles/etc-meisai.yaml; cp932, CRLF) with N rows,
  all passages of one month: ~20,000 cards, IC names incl. the cp932-only 髙 and 﨑, entry/exit times
  (some passages over midnight, some flat-rate roads without an entry), tolls by vehicle class,
  深夜/休日 discounts written as negative numbers, number plates, remarks;
* a card list (cards.csv, UTF-8) that `register_cards` loads into a Tollbook database with bulk
  inserts: members, their vehicles and cards, and a loss event for a few cards. About 2% of the
  cards that appear in the usage file are not in the list (未登録カード).

    .venv/bin/python bench/generate_usage.py --rows 1000000 --out bench/out/usage_1000000.csv
"""
import argparse
import csv
import datetime as dt
import random
import time
from pathlib import Path

HEADER = ["利用年月日（自）", "時分（自）", "利用年月日（至）", "時分（至）", "利用ＩＣ（自）", "利用ＩＣ（至）", "割引前料金",
          "ＥＴＣ割引額", "通行料金", "車種", "車両番号", "ＥＴＣカード番号", "備考"]

ICS = ["東京", "用賀", "東名川崎", "横浜町田", "厚木", "秦野中井", "大井松田", "御殿場", "沼津", "富士", "静岡", "焼津",
       "浜松西", "三ケ日", "豊川", "名古屋", "小牧", "一宮", "岐阜羽島", "関ケ原", "彦根", "八日市", "栗東", "京都東",
       "吹田ＪＣＴ", "大阪", "西宮", "高井戸", "髙井戸", "八王子", "相模湖", "大月", "甲府昭和", "髙崎", "前橋", "練馬",
       "所沢", "川越", "鶴ヶ島", "東松山", "本庄児玉", "藤岡", "山﨑", "山崎", "姫路西", "岡山", "倉敷", "福山東",
       "浦和（本線）", "岩槻", "久喜", "佐野藤岡", "宇都宮", "矢板", "那須", "白河", "郡山", "仙台宮城", "長町", "泉"]
FLAT_RATE = ["首都高速", "阪神高速", "名古屋高速", "福岡高速"]  # no entry IC/date on the statement
REGIONS = ["品川", "練馬", "足立", "多摩", "八王子", "横浜", "川崎", "相模", "湘南", "所沢", "大宮", "川越", "群馬",
           "高崎", "宇都宮", "浜松", "静岡", "名古屋", "尾張小牧", "三河", "なにわ", "大阪", "和泉", "神戸", "姫路",
           "岡山", "福山", "仙台", "福島", "袖ケ浦"]
KANA = "あいうえかきくけこさすせそたちつてとなにぬねのはひふほまみむめもやゆよらりるれろわ"
SURNAMES = ["髙橋", "山﨑", "佐藤", "鈴木", "田中", "伊藤", "渡辺", "中村", "小林", "加藤", "吉田", "山田", "松本",
            "井上", "木村", "林", "斎藤", "清水", "山口", "森"]
TRADES = ["運輸", "物流", "運送", "急送", "陸運", "通運", "建設", "産業", "商事", "エクスプレス"]
# rate per km by 車種 (1 軽・二輪 … 5 特大), roughly the NEXCO ratios
RATE = {1: 0.8, 2: 1.0, 3: 1.2, 4: 1.65, 5: 2.75}
CLASS_WEIGHTS = [(1, 12), (2, 35), (3, 15), (4, 25), (5, 13)]


def _card_number(rng: random.Random, used: set) -> str:
    while True:
        number = "4980" + "".join(rng.choice("0123456789") for _ in range(12))
        if number not in used:
            used.add(number)
            return number


def make_cards(rng: random.Random, cards: int, unknown_share: float, month: dt.date) -> tuple[list, list]:
    """(registered, unknown). registered: dicts for members/vehicles/cards/events; unknown: numbers."""
    used: set = set()
    registered = []
    members = max(1, cards // 10)
    plates = set()
    known = int(round(cards * (1 - unknown_share)))
    for i in range(known):
        member = 1 + (i * 7919) % members  # spread cards over members, 1–30 each
        while True:
            plate = (rng.choice(REGIONS), str(rng.choice([100, 130, 300, 330, 400, 500, 800, 880])),
                     rng.choice(KANA), rng.randint(1, 9999))
            if plate not in plates:
                plates.add(plate)
                break
        vclass = rng.choices([c for c, _ in CLASS_WEIGHTS], [w for _, w in CLASS_WEIGHTS])[0]
        lost_on = None
        if rng.random() < 0.005:  # lost during the month: later passages are flagged 紛失後利用
            lost_on = month + dt.timedelta(days=rng.randint(5, 25))
        registered.append({"number": _card_number(rng, used), "member": member, "region": plate[0],
                           "class_number": plate[1], "kana": plate[2], "serial": plate[3], "vehicle_class": vclass,
                           "lost_on": lost_on.isoformat() if lost_on else ""})
    unknown = [_card_number(rng, used) for _ in range(cards - known)]
    return registered, unknown


def _serial_text(serial: int) -> str:
    text = str(serial)
    return f"{text[:2]}-{text[2:]}" if len(text) == 4 else "・" * (4 - len(text)) + text


def write_usage(path: Path, rows: int, registered: list, unknown: list, month: dt.date, seed: int) -> None:
    rng = random.Random(seed + 1)
    # Per card: number, 車種, plate text (unknown cards: a plate too, from another operator's list)
    cards = [(c["number"], c["vehicle_class"],
              f'{c["region"]} {c["class_number"]} {c["kana"]} {_serial_text(c["serial"])}') for c in registered]
    for number in unknown:
        cards.append((number, rng.choice([2, 4]), f"{rng.choice(REGIONS)} 100 {rng.choice(KANA)} "
                                                  f"{_serial_text(rng.randint(1, 9999))}"))
    # 20% of the cards make 60% of the passages (long-haul trucks)
    heavy = cards[: len(cards) // 5]
    days = ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month).days
    dates = [(month + dt.timedelta(days=d)) for d in range(days)]
    date_text = [d.strftime("%y/%m/%d") for d in dates]
    holiday = [d.weekday() >= 5 for d in dates]
    prev_text = (month - dt.timedelta(days=1)).strftime("%y/%m/%d")
    distance = {}
    n_ics = len(ICS)
    for a in range(n_ics):
        for b in range(n_ics):
            distance[a, b] = 5 + (abs(a - b) * 37 + (a * b) % 23) % 420
    lines = []
    write_every = 50_000
    with open(path, "w", encoding="cp932", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        rand, randint, choice = rng.random, rng.randint, rng.choice
        for _ in range(rows):
            number, vclass, plate = choice(heavy) if rand() < 0.6 else choice(cards)
            day = randint(0, days - 1)
            minutes_out = randint(0, 24 * 60 - 1)
            remark = ""
            if rand() < 0.08:  # urban flat-rate road: no entry on the statement
                entry_d = entry_t = entry_ic = ""
                exit_ic = choice(FLAT_RATE)
                before = (1070, 1320, 1560, 2640, 4400)[vclass - 1]
                discount = 0
            else:
                a = randint(0, n_ics - 1)
                b = randint(0, n_ics - 2)
                b += b >= a
                km = distance[a, b]
                before = int(150 + km * 24.6 * RATE[vclass]) // 10 * 10
                minutes_in = minutes_out - max(8, km * 60 // 80)
                entry_day = day
                if minutes_in < 0:
                    minutes_in += 24 * 60
                    entry_day -= 1
                entry_d = date_text[entry_day] if entry_day >= 0 else prev_text
                entry_t = f"{minutes_in // 60:02d}:{minutes_in % 60:02d}"
                entry_ic, exit_ic = ICS[a], ICS[b]
                discount = 0
                hour = minutes_out // 60
                if hour < 4 or (minutes_in // 60) < 4:
                    discount = -(before * 3 // 10 // 10 * 10)
                    remark = "深夜割引"
                elif holiday[day] and vclass <= 2:
                    discount = -(before * 3 // 10 // 10 * 10)
                    remark = "休日割引"
                elif rand() < 0.02:
                    remark = "料金所で現金精算"
            exit_t = f"{minutes_out // 60:02d}:{minutes_out % 60:02d}"
            lines.append(f"{entry_d},{entry_t},{date_text[day]},{exit_t},{entry_ic},{exit_ic},{before},{discount},"
                         f"{before + discount},{vclass},{plate},{number},{remark}\r\n")
            if len(lines) >= write_every:
                out.write("".join(lines))
                lines = []
        out.write("".join(lines))


def write_card_list(path: Path, registered: list) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["number", "member", "region", "class_number", "kana", "serial", "vehicle_class", "lost_on"])
        for c in registered:
            writer.writerow([c["number"], c["member"], c["region"], c["class_number"], c["kana"], c["serial"],
                             c["vehicle_class"], c["lost_on"]])


def generate(rows: int, out: Path, cards_out: Path | None = None, cards: int = 20_000, unknown_share: float = 0.02,
             month: str = "2026-10", seed: int = 20261001) -> None:
    rng = random.Random(seed)
    first = dt.date.fromisoformat(month + "-01")
    registered, unknown = make_cards(rng, cards, unknown_share, first)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_usage(out, rows, registered, unknown, first, seed)
    write_card_list(cards_out or out.parent / "cards.csv", registered)


def register_cards(connection, card_list: Path) -> int:
    """Members, vehicles, cards and loss events from the card list, with bulk inserts on a
    SQLAlchemy connection (the caller commits). Returns the number of cards."""
    from sqlalchemy import insert

    from app.models import Card, CardEvent, Member, Vehicle
    from app.models.mixins import now_jst

    now = now_jst()
    with open(card_list, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    members = sorted({int(r["member"]) for r in rows})
    connection.execute(insert(Member), [
        {"id": m, "code": f"B{m:05d}", "name": f"{SURNAMES[m % len(SURNAMES)]}{TRADES[m % len(TRADES)]}株式会社",
         "kana": "ベンチマーク", "payment_method": "direct_debit", "status": "active", "created_at": now,
         "updated_at": now} for m in members])
    vehicles, card_rows, events = [], [], []
    for i, r in enumerate(rows, start=1):
        vehicles.append({"id": i, "member_id": int(r["member"]), "plate_region": r["region"],
                         "plate_class_number": r["class_number"], "plate_kana": r["kana"],
                         "plate_serial": int(r["serial"]), "vehicle_class": int(r["vehicle_class"]), "is_etc2": False,
                         "is_commercial": True, "created_at": now, "updated_at": now})
        lost = dt.date.fromisoformat(r["lost_on"]) if r["lost_on"] else None
        card_rows.append({"id": i, "number": r["number"], "kind": "corporate", "issuer": "NEXCO中日本",
                          "member_id": int(r["member"]), "vehicle_id": i, "status": "lost" if lost else "active",
                          "status_changed_on": lost, "created_at": now, "updated_at": now})
        if lost:
            events.append({"card_id": i, "member_id": int(r["member"]), "kind": "loss", "occurred_on": lost,
                           "entered_by": "bench", "entered_at": now, "fee_billed": False})
    connection.execute(insert(Vehicle), vehicles)
    connection.execute(insert(Card), card_rows)
    if events:
        connection.execute(insert(CardEvent), events)
    if connection.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("member", "vehicle", "card"):
            connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))")
    return len(card_rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="CSV path (default bench/out/usage_<rows>.csv)")
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--unknown-share", type=float, default=0.02, help="share of cards not in the master")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--seed", type=int, default=20261001)
    args = parser.parse_args()
    out = args.out or Path(__file__).resolve().parent / "out" / f"usage_{args.rows}.csv"
    started = time.perf_counter()
    generate(args.rows, out, None, args.cards, args.unknown_share, args.month, args.seed)
    print(f"{out}: {args.rows:,} rows, {out.stat().st_size:,} bytes, {time.perf_counter() - started:.1f} s; "
          f"card list {out.parent / 'cards.csv'}")


if __name__ == "__main__":
    main()
