"""IC master import: CSV with ICコード, IC名, 路線, 道路事業者, 地域区分 (地方部 / 大都市近郊).

The region decides 平日朝夕割引 eligibility later (etc-domain.md §2.3: 地方部 only). All rows or none;
an IC already in the master (same code, or same name when no code) is updated."""
import csv
import io
from pathlib import Path

from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.usage import IcMaster

from .unit_of_work import transactional

REGIONS = {"地方部": "rural", "大都市近郊": "urban", "rural": "rural", "urban": "urban", "": None}
HEADERS = ("ICコード", "IC名", "路線", "道路事業者", "地域区分")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(f"{path.name}: 文字コードが UTF-8 でも cp932 でもありません。")


@transactional
def import_ic_master(path: str | Path) -> str:
    path = Path(path)
    rows = list(csv.reader(io.StringIO(_read_text(path))))
    if not rows:
        raise DomainError(f"{path.name}: ファイルが空です。")
    header = [h.strip() for h in rows[0]]
    missing = [h for h in ("IC名",) if h not in header]
    if missing:
        raise DomainError(f"{path.name} 1行目: 見出し「{'・'.join(missing)}」がありません（{', '.join(HEADERS)}）。")
    col = {h: header.index(h) for h in HEADERS if h in header}
    errors, parsed = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        get = lambda h: row[col[h]].strip() if h in col and col[h] < len(row) else ""  # noqa: E731
        if not get("IC名"):
            errors.append(f"{path.name} {number}行目 IC名: 空です。")
            continue
        region = get("地域区分")
        if region not in REGIONS:
            errors.append(f"{path.name} {number}行目 地域区分: 「{region}」は 地方部 か 大都市近郊 です。")
            continue
        parsed.append(dict(code=get("ICコード") or None, name=get("IC名"), road=get("路線") or None,
                           road_operator=get("道路事業者") or None, region=REGIONS[region]))
    if errors:
        raise DomainError("IC マスタを取り込めませんでした（何も登録していません）:\n" + "\n".join(errors))
    created = updated = 0
    for item in parsed:
        key = IcMaster.code == item["code"] if item["code"] else IcMaster.name == item["name"]
        existing = db.session.scalar(select(IcMaster).where(key))
        if existing is None:
            db.session.add(IcMaster(**item))
            created += 1
        else:
            for name, value in item.items():
                setattr(existing, name, value)
            updated += 1
    return f"{path.name}: IC {created}件を登録、{updated}件を更新しました。"
