"""道路事業者不明 (issue 7 item 1, import side): a usage row without a road operator takes it from the
IC master (exit IC, else entry IC, both compared after app.domain.ic_name.normalize_ic_name), at import
and again whenever the master changes (`flask etc import-ics`, the screen 道路事業者不明); rows of
closed months never change. Through the CLI and the screen, on SQLite and (TEST_DATABASE_URL) PostgreSQL."""
import re
from pathlib import Path

from sqlalchemy import select

from app.models.billing import BillingRun
from app.models.usage import IcMaster, ImportBatch, UsageRecord
from app.services.actor import acting_as
from app.services.road_operators import resolve_road_operators

from .test_usage_duplicates import CARD, card, runner, write  # noqa: F401  (fixtures)

OCTOBER = [
    f"26/10/01,06:12,26/10/01,07:05,東京,厚木,1320,0,1320,1,1234,{CARD},",  # exit 厚木 in the master
    f"26/10/02,08:00,26/10/02,08:40,厚木ＩＣ,謎の出口,900,0,900,1,1234,{CARD},",  # exit unknown: entry 厚木ＩＣ
    f"26/10/03,22:30,26/10/04,00:45,大阪,吹田ＪＣＴ,650,0,650,1,1234,{CARD},",  # full-width: 吹田JCT
    f"26/10/05,,26/10/05,14:20,,首都高速,1300,0,1300,1,1234,{CARD},",  # not in the master
    f"26/10/06,10:00,26/10/06,10:30,どこか,首都高速,700,0,700,1,1234,{CARD},",  # not in the master either
]
MASTER = """ICコード,IC名,路線,道路事業者,地域区分
,厚木,東名高速道路,NEXCO中日本,大都市近郊
,吹田ＪＣＴ,名神高速道路,NEXCO西日本,大都市近郊
"""


def write_usage(tmp_path: Path, name: str, lines) -> str:
    return write(tmp_path, name, *lines)


def write_master(tmp_path: Path, text: str, name="ics.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def etc(runner, *args):
    return runner.invoke(args=["etc", *args])


def operators(db, batch_id=None):
    db.session.expire_all()
    query = select(UsageRecord.road_operator, UsageRecord.road_operator_source).order_by(UsageRecord.batch_id,
                                                                                       UsageRecord.line_no)
    if batch_id is not None:
        query = query.where(UsageRecord.batch_id == batch_id)
    return db.session.execute(query).all()


def test_import_takes_the_operator_from_the_ic_master(db, card, runner, tmp_path):
    assert etc(runner, "import-ics", write_master(tmp_path, MASTER)).exit_code == 0
    result = etc(runner, "import", write_usage(tmp_path, "oct.csv", OCTOBER), "--format", "etc-meisai")
    assert result.exit_code == 0, result.output
    assert operators(db) == [("NEXCO中日本", "ic"), ("NEXCO中日本", "ic"), ("NEXCO西日本", "ic"), (None, None),
                             (None, None)]


def test_import_ics_resolves_open_months_only_and_says_how_many(db, card, runner, tmp_path):
    assert etc(runner, "import", write_usage(tmp_path, "sep.csv", [l.replace("26/10/", "26/09/") for l in OCTOBER]),
               "--format", "etc-meisai").exit_code == 0
    assert etc(runner, "import", write_usage(tmp_path, "oct.csv", OCTOBER), "--format", "etc-meisai").exit_code == 0
    september, october = db.session.scalars(select(ImportBatch.id).order_by(ImportBatch.id)).all()
    assert {op for op, _ in operators(db)} == {None}  # an empty master: nothing known yet
    db.session.add(BillingRun(month="2026-09", status="closed"))
    db.session.commit()
    result = etc(runner, "import-ics", write_master(tmp_path, MASTER))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [
        "ics.csv: IC 2件を登録、0件を更新しました。",
        "締め前の月の走行明細 3件の道路事業者を、ICマスタから決めました。"]
    assert [op for op, _ in operators(db, october)] == ["NEXCO中日本", "NEXCO中日本", "NEXCO西日本", None, None]
    assert {op for op, _ in operators(db, september)} == {None}  # closed: never changes
    # the master corrected: rows that took their operator from it follow; file-given ones never do
    fixed = etc(runner, "import-ics", write_master(tmp_path, MASTER.replace(",厚木,東名高速道路,NEXCO中日本",
                                                                              ",厚木,東名高速道路,NEXCO東日本"), "fix.csv"))
    assert fixed.stdout.strip().splitlines()[-1] == "締め前の月の走行明細 2件の道路事業者を、ICマスタから決めました。"
    assert [op for op, _ in operators(db, october)][:2] == ["NEXCO東日本", "NEXCO東日本"]


def test_resolve_road_operators_service(db, card, runner, tmp_path):
    assert etc(runner, "import", write_usage(tmp_path, "oct.csv", OCTOBER), "--format", "etc-meisai").exit_code == 0
    with acting_as("tester"):
        db.session.add(IcMaster(name="首都高速", road_operator="首都高速道路"))
        db.session.commit()
        assert resolve_road_operators(months=["2026-11"]) == 0  # no rows in that month
        assert resolve_road_operators() == 2
        assert resolve_road_operators() == 0  # nothing left to change
    assert [op for op, _ in operators(db)][3:] == ["首都高速道路", "首都高速道路"]


def test_unknown_operator_screen_groups_by_ic_and_staff_set_it_once(db, card, runner, tmp_path, staff_client):
    assert etc(runner, "import", write_usage(tmp_path, "oct.csv", OCTOBER + [
        f"26/10/07,09:00,26/10/07,09:20,どこか,首都高速,500,0,500,1,1234,{CARD},"]), "--format", "etc-meisai").exit_code == 0
    page = staff_client.get("/usage/unknown-operators/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    table = re.search(r'<table[^>]*id="unknown-operators".*?</table>', text, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
    assert "道路事業者不明" in text
    # grouped by IC name (exit IC, else entry IC), with row count and 通行料金; most rows first
    assert cells[:3] == ["首都高速", "3件", "2,500円"]
    assert "謎の出口" in cells and "厚木" not in cells[:3]
    done = staff_client.post("/usage/unknown-operators/set/", data={
        "ic_name": "首都高速", "road_operator": "首都高速道路", "region": "urban"}, follow_redirects=True)
    assert "首都高速 の道路事業者を「首都高速道路」としてICマスタに登録し、走行明細 3件に入れました。" in done.get_data(as_text=True)
    ic = db.session.scalar(select(IcMaster).where(IcMaster.name == "首都高速"))
    assert (ic.road_operator, ic.region) == ("首都高速道路", "urban")
    assert [r for r in operators(db) if r[0] == "首都高速道路"] == [("首都高速道路", "staff")] * 3
    after = staff_client.get("/usage/unknown-operators/").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="unknown-operators".*?</table>', after, re.S).group(0)
    assert "首都高速" not in table and "謎の出口" in table


def test_managers_read_the_screen_but_only_staff_set_an_operator(db, card, runner, tmp_path, manager_client):
    assert etc(runner, "import", write_usage(tmp_path, "oct.csv", OCTOBER), "--format", "etc-meisai").exit_code == 0
    assert "首都高速" in manager_client.get("/usage/unknown-operators/").get_data(as_text=True)
    refused = manager_client.post("/usage/unknown-operators/set/", data={"ic_name": "首都高速",
                                                                        "road_operator": "首都高速道路"})
    assert refused.status_code in (302, 403)
    assert db.session.scalar(select(IcMaster).where(IcMaster.name == "首都高速")) is None
    assert {op for op, _ in operators(db)} == {None}


def test_editing_an_ic_on_the_master_screen_resolves_rows(db, card, runner, tmp_path, staff_client):
    assert etc(runner, "import", write_usage(tmp_path, "oct.csv", OCTOBER), "--format", "etc-meisai").exit_code == 0
    page = staff_client.post("/icmasterview/add", data={"name": "首都高速", "road_operator": "首都高速道路",
                                                        "region": "urban"}, follow_redirects=True)
    assert "締め前の月の走行明細 2件の道路事業者を、ICマスタから決めました。" in page.get_data(as_text=True)
    assert [op for op, _ in operators(db)][3:] == ["首都高速道路", "首都高速道路"]
