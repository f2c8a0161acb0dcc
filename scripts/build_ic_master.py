#!/usr/bin/env python3
"""Builds app/data/ic_master.csv, the starting IC master (docs/ic-master.md), from two public data sets.

    python scripts/build_ic_master.py --tollbooths japan_etc_tollbooths.csv \
        --highway-points highway_point.geojson -o app/data/ic_master.csv

Inputs (fetched by hand, never committed; docs/ic-master.md names the exact versions used):
  --tollbooths      database/japan_etc_tollbooths.csv of github.com/yujinakayama/japan_etc (MIT): the ETC
                    料金所 lists the operators publish (NEXCO 3社 ETC利用可能IC/料金所ID PDF, 首都高 料金所コード CSV,
                    阪神高速 料金所コード XLS), one row per tollbooth: tollbooth_id, road_name, route_name,
                    tollbooth_name, direction, entrance_or_exit, notes, source.
  --highway-points  data/highway_point.geojson of github.com/yH3PO4/HighwayOrderedDS (CC BY-SA 3.0, from
                    国土数値情報 高速道路時系列データ N06 and Wikipedia): IC/JCT/SA/PA per 営業路線 in road order.

Nothing here invents a name: every IC name comes from one of the two files, only put through
normalize_ic_name (the form the importer compares). What this script adds is the road operator,
from the table ROADS below, each entry with the public statement it rests on (SOURCES). A name found
under two operator families (e.g. a NEXCO IC and a 首都高 entrance of the same name) is left out and
listed: one IC name cannot carry two operators in the master.
"""
import argparse
import csv
import json
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.domain.ic_name import normalize_ic_name  # noqa: E402

EAST, CENTRAL, WEST = "NEXCO東日本", "NEXCO中日本", "NEXCO西日本"
NEXCO_ANY = "NEXCO"  # one of the three, not pinned down (billing bands the three together, etc-domain §1.4)
SHUTOKO, HANSHIN, HONSHI = "首都高速道路", "阪神高速道路", "本州四国連絡高速道路"
FAMILY = {EAST: "NEXCO", CENTRAL: "NEXCO", WEST: "NEXCO", NEXCO_ANY: "NEXCO",
          SHUTOKO: SHUTOKO, HANSHIN: HANSHIN, HONSHI: HONSHI}

# Public statements each road's operator rests on (URLs and dates in docs/ic-master.md).
SOURCES = {
    "east-area": "NEXCO東日本の管轄: 北海道・東北・新潟・長野県北部と関東の大部分",
    "east-kanto": "東日本高速道路関東支社の管轄路線（外環・第三京浜・横浜新道・横浜横須賀・関越・上信越・北関東・東水戸 等）",
    "central-area": "NEXCO中日本の管轄: 東海・北陸・山梨・長野県南部・関東南西部",
    "central-nagoya": "中日本高速道路名古屋支社: 東名・中央・東海北陸・北陸（木之本以北も中日本）、名神八日市IC以西と新名神甲賀土山IC以西は西日本",
    "west-area": "NEXCO西日本の管轄: 近畿・中国・四国・九州・沖縄",
    "west-kansai": "西日本高速道路関西支社: 名神八日市IC以西、新名神甲賀土山IC以西、舞鶴若狭道小浜IC以西",
    "hokuriku": "北陸自動車道: 新潟中央JCT－朝日ICは東日本、朝日IC（含む）－米原JCTは中日本",
    "ken-o": "圏央道: 藤沢IC－あきる野ICは中日本、その他は東日本",
    "nagano": "長野道: 安曇野IC以北は東日本高速道路関東支社",
    "honshi": "本四高速の3ルート（神戸淡路鳴門道・瀬戸中央道・西瀬戸道）",
    "shutoko": "首都高速道路株式会社の料金所コード一覧",
    "hanshin": "阪神高速道路株式会社の料金所コード一覧",
}

# road name (either data set's spelling) → operator, or a split: (boundary IC, operator before it in
# HighwayOrderedDS order, operator after it, operator of the boundary IC itself). A road not listed is
# left out (free 国 sections, 地方道路公社 roads, other city expressways: see docs/ic-master.md).
ROAD_GROUPS = (
    (EAST, "east-area", "東北自動車道 常磐自動車道 関越自動車道 上信越自動車道 北関東自動車道 磐越自動車道 "
     "日本海東北自動車道 山形自動車道 秋田自動車道 八戸自動車道 八戸自動車道_百石道路方面 百石道路 釜石自動車道 "
     "青森自動車道 湯沢横手道路 仙台東部道路 仙台北部道路 東北中央自動車道 三陸自動車道 道央自動車道 札樽自動車道 "
     "道東自動車道 後志自動車道 京葉道路 千葉東金道路 東関東自動車道 館山自動車道 館山自動車道_木更津南支線 "
     "富津館山道路 新空港自動車道 東京湾アクアライン 東京湾アクアライン連絡道"),
    (EAST, "east-kanto", "東京外環自動車道 第三京浜道路 横浜新道 横浜横須賀道路 東水戸道路"),
    (CENTRAL, "central-nagoya", "東名高速道路 新東名高速道路 新東名高速道路_引佐連絡路 新東名高速道路_清水連絡路 "
     "中央自動車道 中央自動車道_富士吉田線 東海北陸自動車道"),
    (CENTRAL, "central-area", "伊勢湾岸自動車道 東名阪自動車道 伊勢自動車道 名古屋第二環状自動車道 "
     "名古屋第二環状自動車道_名古屋支線 東海環状自動車道 新名神高速道路_亀山連絡路 小田原厚木道路 西湘バイパス "
     "新湘南バイパス 東富士五湖道路 安房峠道路"),
    (WEST, "west-area", "中国自動車道 山陽自動車道 山陽自動車道_倉敷早島支線 山陽自動車道_宇部下関線 "
     "山陽自動車道_木見支線 九州自動車道 長崎自動車道 大分自動車道 宮崎自動車道 東九州自動車道 西九州自動車道 "
     "八代日奈久道路 椎田道路 関門自動車道 米子自動車道 岡山自動車道 広島自動車道 浜田自動車道 広島岩国道路 "
     "西名阪自動車道 近畿自動車道 阪和自動車道 関西空港自動車道 第二京阪道路 京滋バイパス 第二神明道路 "
     "第二神明道路北線 京都縦貫自動車道 丹波綾部道路 綾部宮津道路 湯浅御坊道路 堺泉北道路 播磨自動車道 高松自動車道 "
     "高松自動車道_坂出支線 徳島自動車道 松山自動車道 高知自動車道 沖縄自動車道"),
    (HONSHI, "honshi", "神戸淡路鳴門自動車道 瀬戸中央自動車道 しまなみ海道"),
)
R = {road: (operator, basis) for operator, basis, roads in ROAD_GROUPS for road in roads.split()}
SPLITS = {
    "名神高速道路": ("八日市", CENTRAL, WEST, NEXCO_ANY, "west-kansai"),
    "新名神高速道路": ("甲賀土山", CENTRAL, WEST, NEXCO_ANY, "west-kansai"),
    "舞鶴若狭自動車道": ("小浜", WEST, CENTRAL, NEXCO_ANY, "west-kansai"),
    "北陸自動車道": ("朝日", CENTRAL, EAST, CENTRAL, "hokuriku"),
    "首都圏中央連絡自動車道": ("あきる野", CENTRAL, EAST, NEXCO_ANY, "ken-o"),
    "長野自動車道": ("安曇野", CENTRAL, EAST, NEXCO_ANY, "nagano"),
}
# Roads of two NEXCO companies whose boundary no source we read states: NEXCO (one of the three).
UNPINNED = {"中部横断自動車道"}


def canonical(name: str) -> str | None:
    name = normalize_ic_name(name)
    if not name or "/" in name or "(" in name:
        return None  # 'PA/SIC' combinations and '堺(R26)' style notes are not entry/exit names
    return name


def load_points(path: Path):
    """HighwayOrderedDS: (road, order, name) of each IC, an IC that is also a JCT (吹田JCT) included; pure
    junctions, SA/PA and smart ICs are left out (smart ICs
    come from the operators' tollbooth list under the names the ETC system uses, 「…スマート」)."""
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    for feature in features:
        p = feature["properties"]
        if p["is_IC"] and not p["is_SIC"]:
            yield p["road_name"], p["order"], p["name"]


def split_operator(road: str, name: str, orders: dict) -> str | None:
    boundary, before, after, at, _ = SPLITS[road]
    if name == boundary:
        return at
    mine, edge = orders.get((road, name)), orders.get((road, boundary))
    if mine is None or edge is None:
        return NEXCO_ANY  # the IC is on this road but not in the ordered data: which side is unknown
    return before if mine < edge else after


def operator_of(road: str, name: str, orders: dict):
    if road in SPLITS:
        return split_operator(road, name, orders), SPLITS[road][4]
    if road in UNPINNED:
        return NEXCO_ANY, "unpinned"
    return R.get(road, (None, None))


def tollbooth_rows(path: Path):
    """japan_etc: (road, name) per tollbooth still in service, with 首都高/阪神 routes as road names."""
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            notes = row["notes"] or ""
            if row["source"] == "PastDatabase" or any(word in notes for word in ("迄", "まで", "無料開放")):
                continue  # tollbooths the lists mark as closed or no longer tolled
            road, route = row["road_name"], row["route_name"]
            if road == SHUTOKO:
                yield (f"首都高速{route}" if route and route != SHUTOKO else SHUTOKO), row["tollbooth_name"], SHUTOKO
            elif road == HANSHIN:
                yield (f"阪神高速{route}" if route else HANSHIN), row["tollbooth_name"], HANSHIN
            else:
                yield road, row["tollbooth_name"], None


def build(tollbooths: Path, points: Path):
    orders = {}
    found = defaultdict(set)  # name → {(operator, road, source key)}
    skipped_roads = defaultdict(int)
    point_list = list(load_points(points))
    for road, order, raw in point_list:
        name = canonical(raw)
        if name:
            orders.setdefault((road, name), order)
    def add(road: str, raw: str, fixed: str | None) -> None:
        name = canonical(raw)
        if not name:
            return
        if fixed:
            found[name].add((fixed, road, "shutoko" if fixed == SHUTOKO else "hanshin"))
            return
        operator, basis = operator_of(road, name, orders)
        if operator is None:
            skipped_roads[road] += 1
        else:
            found[name].add((operator, road, basis))

    for road, _, raw in point_list:
        # 首都高・阪神: their own 料金所コード lists (in --tollbooths) name every entrance and exit; the ordered
        # data adds only the NEXCO ICs where their routes end (東京, 高井戸 …), which are not theirs.
        if not road.startswith(("首都高速", "阪神高速")):
            add(road, raw, None)
    for road, raw, fixed in tollbooth_rows(tollbooths):
        add(road, raw, fixed)

    rows, ambiguous = [], {}
    for name, candidates in sorted(found.items()):
        families = {FAMILY[op] for op, _, _ in candidates}
        if len(families) > 1:
            ambiguous[name] = sorted({f"{op}（{road}）" for op, road, _ in candidates})
            continue
        operators = {op for op, _, _ in candidates}
        operator = operators.pop() if len(operators) == 1 else NEXCO_ANY
        roads = sorted({road for _, road, _ in candidates})
        road = "・".join(roads)
        if len(road) > 60:
            road = roads[0] + " ほか"
        rows.append({"ICコード": "", "IC名": name, "路線": road, "道路事業者": operator, "地域区分": ""})
    rows.sort(key=lambda r: (list(FAMILY).index(r["道路事業者"]), r["路線"], r["IC名"]))
    return rows, ambiguous, skipped_roads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tollbooths", type=Path, required=True)
    parser.add_argument("--highway-points", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, default=Path("app/data/ic_master.csv"))
    args = parser.parse_args()
    rows, ambiguous, skipped = build(args.tollbooths, args.highway_points)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["ICコード", "IC名", "路線", "道路事業者", "地域区分"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    counts = defaultdict(int)
    for row in rows:
        counts[row["道路事業者"]] += 1
    print(f"{args.output}: {len(rows)} 件")
    for operator in FAMILY:
        print(f"  {operator}: {counts[operator]}")
    print(f"事業者が2系統にまたがるため除いた名前 {len(ambiguous)} 件:")
    for name, where in ambiguous.items():
        print(f"  {name}: {' / '.join(where)}")
    print(f"事業者を定めていない路線（除外） {len(skipped)} 路線:")
    for road, n in sorted(skipped.items()):
        print(f"  {road}: {n}")
    assert all(unicodedata.normalize("NFKC", r["IC名"]) == r["IC名"] for r in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
