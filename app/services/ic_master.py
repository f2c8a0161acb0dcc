"""IC master import: CSV with ICコード, IC名, 路線, 道路事業者, 地域区分 (地方部 / 大都市近郊).

The region decides 平日朝夕割引 eligibility later (etc-domain.md §2.3: 地方部 only). All rows or none;
an IC already in the master (same code, or same name when no code) is updated. Names are stored as
normalize_ic_name makes them, the form usage rows are compared in ('東京ＩＣ' and '東京' are one IC).

Tollbook ships a starting master, app/data/ic_master.csv (how it was built and how complete it is:
docs/ic-master.md); `flask etc init` loads it into an empty master only, so staff edits are never
overwritten."""
import csv
import io
from pathlib import Path

from sqlalchemy import func, select, text

from app.domain.errors import DomainError
from app.domain.ic_name import normalize_ic_name
from app.extensions import db
from app.models.usage import IcMaster

from .unit_of_work import transactional

SHIPPED_IC_MASTER = Path(__file__).resolve().parent.parent / "data" / "ic_master.csv"

REGIONS = {"地方部": "rural", "大都市近郊": "urban", "rural": "rural", "urban": "urban", "": None}
HEADERS = ("ICコード", "IC名", "路線", "道路事業者", "地域区分")


def _read_text(source, file_name: str) -> str:
    from .uploads import limit, read_capped

    data = read_capped(source, limit("IC_MASTER_MAX_BYTES"), file_name)
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(f"{file_name}: 文字コードが UTF-8 でも cp932 でもありません。")


def _file_name(source, file_name: str | None) -> str:
    if isinstance(source, (str, Path)):
        return file_name or Path(source).name
    return file_name or "ICマスタ"


def read_ic_master(source, file_name: str | None = None) -> list[dict]:
    """The file's rows as IcMaster field dicts, names normalised; DomainError listing every bad row.
    `source` is a path (CLI) or a binary stream (an upload; `file_name` only names it in messages)."""
    file_name = _file_name(source, file_name)
    rows = list(csv.reader(io.StringIO(_read_text(source, file_name))))
    if not rows:
        raise DomainError(f"{file_name}: ファイルが空です。")
    header = [h.strip() for h in rows[0]]
    missing = [h for h in ("IC名",) if h not in header]
    if missing:
        raise DomainError(f"{file_name} 1行目: 見出し「{'・'.join(missing)}」がありません（{', '.join(HEADERS)}）。")
    col = {h: header.index(h) for h in HEADERS if h in header}
    errors, parsed = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        get = lambda h: row[col[h]].strip() if h in col and col[h] < len(row) else ""  # noqa: E731
        name = normalize_ic_name(get("IC名"))
        if not name:
            errors.append(f"{file_name} {number}行目 IC名: 空です。")
            continue
        region = get("地域区分")
        if region not in REGIONS:
            errors.append(f"{file_name} {number}行目 地域区分: 「{region}」は 地方部 か 大都市近郊 です。")
            continue
        parsed.append(dict(code=get("ICコード") or None, name=name, road=get("路線") or None,
                           road_operator=get("道路事業者") or None, region=REGIONS[region]))
    if errors:
        raise DomainError("IC マスタを取り込めませんでした（何も登録していません）:\n" + "\n".join(errors))
    return parsed


@transactional
def import_ic_master(source, file_name: str | None = None) -> str:
    file_name = _file_name(source, file_name)
    parsed = read_ic_master(source, file_name)
    created = updated = 0
    # One read of the master instead of one per row (the shipped file has ~1,800 rows).
    by_code, by_name = {}, {}
    for ic in db.session.scalars(select(IcMaster).order_by(IcMaster.id)):
        if ic.code:
            by_code.setdefault(ic.code, ic)
        by_name.setdefault(ic.name, ic)
    for item in parsed:
        existing = by_code.get(item["code"]) if item["code"] else by_name.get(item["name"])
        if existing is None:
            existing = IcMaster(**item)
            db.session.add(existing)
            created += 1
        else:
            for name, value in item.items():
                setattr(existing, name, value)
            updated += 1
        if item["code"]:
            by_code[item["code"]] = existing
        by_name.setdefault(item["name"], existing)
    return f"{file_name}: IC {created}件を登録、{updated}件を更新しました。"


@transactional
def ensure_shipped_ic_master() -> int:
    """Load app/data/ic_master.csv when the IC master is empty; 0 (and nothing written) otherwise.

    The emptiness check and the load are one write transaction, so two `flask etc init` at once load it
    once: PostgreSQL takes a self-conflicting table lock, SQLite its write lock (a write statement first,
    which makes the implicit transaction a writing one before the count is read)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE ic_master IN SHARE ROW EXCLUSIVE MODE"))
    else:
        db.session.execute(text("UPDATE ic_master SET id = id WHERE 1 = 0"))
    if db.session.scalar(select(func.count()).select_from(IcMaster)):
        return 0
    rows = read_ic_master(SHIPPED_IC_MASTER)
    db.session.add_all(IcMaster(**row) for row in rows)
    return len(rows)
