"""IC-name normalisation (app/domain/ic_name.py) and the shipped starting IC master (app/data/ic_master.csv)."""
import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from app.domain.ic_name import normalize_ic_name

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "app" / "data" / "ic_master.csv"
OPERATORS = {"NEXCO東日本", "NEXCO中日本", "NEXCO西日本", "NEXCO", "首都高速道路", "阪神高速道路", "本州四国連絡高速道路"}


@pytest.mark.parametrize("text, expected", [
    ("東京", "東京"),
    ("東京IC", "東京"),
    ("　東京ＩＣ ", "東京"),           # full-width letters and spaces, as typed or exported
    ("吹田ＪＣＴ", "吹田JCT"),          # ETC利用照会 writes full-width letters
    ("ｱﾂｷﾞ", "アツギ"),               # half-width katakana
    ("大井 松田", "大井松田"),
    ("綾瀬スマートIC", "綾瀬スマート"),
    ("髙崎", "髙崎"),                   # variant kanji are the operators' own spelling: not folded
    ("IC", "IC"),                       # a name that is only 'IC' is kept, not emptied
    ("", None), ("  ", None), (None, None),
])
def test_normalize_ic_name(text, expected):
    assert normalize_ic_name(text) == expected


def shipped_rows() -> list[dict]:
    with SHIPPED.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_shipped_master_has_the_import_columns_and_utf8():
    raw = SHIPPED.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    assert raw.split(b"\n", 1)[0].decode() == "ICコード,IC名,路線,道路事業者,地域区分"


def test_every_shipped_name_is_already_in_normalised_form():
    changed = [r["IC名"] for r in shipped_rows() if normalize_ic_name(r["IC名"]) != r["IC名"]]
    assert changed == []


def test_shipped_names_and_codes_are_unique():
    rows = shipped_rows()
    names = Counter(r["IC名"] for r in rows)
    assert [n for n, c in names.items() if c > 1] == []
    codes = Counter(r["ICコード"] for r in rows if r["ICコード"])
    assert [c for c, n in codes.items() if n > 1] == []
    assert all(len(r["ICコード"]) <= 10 and len(r["IC名"]) <= 60 and len(r["路線"]) <= 60 for r in rows)


def test_shipped_operators_are_the_strings_the_tariff_and_profiles_use():
    rows = shipped_rows()
    assert {r["道路事業者"] for r in rows} == OPERATORS
    assert {r["地域区分"] for r in rows} <= {"", "地方部", "大都市近郊"}


def test_docs_state_the_shipped_counts():
    """docs/ic-master.md's table of rows per operator is the file's, so the docs cannot drift from the data."""
    counts = Counter(r["道路事業者"] for r in shipped_rows())
    text = (ROOT / "docs" / "ic-master.md").read_text(encoding="utf-8")
    documented = {m.group(1): int(m.group(2).replace(",", ""))
                  for m in re.finditer(r"^\| `([^`]+)` \| ([\d,]+) \|", text, re.MULTILINE)}
    assert documented == dict(counts)
    assert f"合計 {sum(counts.values()):,}件" in text
