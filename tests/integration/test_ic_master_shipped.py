"""The shipped starting IC master: `flask etc init` loads it into an empty master only, `flask etc
import-ics app/data/ic_master.csv` imports it, and well-known ICs resolve to the right operator."""
import csv

import pytest
from sqlalchemy import func, select

from app.models.usage import IcMaster
from app.services.ic_master import SHIPPED_IC_MASTER


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


def shipped_count() -> int:
    with SHIPPED_IC_MASTER.open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def ic_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(IcMaster))


def ic(db, name):
    return db.session.scalar(select(IcMaster).where(IcMaster.name == name))


def init(runner):
    from tests.conftest import ADMIN_PASSWORD

    result = runner.invoke(args=["etc", "init", "--admin-password", ADMIN_PASSWORD])
    assert result.exit_code == 0, result.output
    return result.output


# Each checked against the operator's own statement cited in docs/ic-master.md.
WELL_KNOWN = {
    "東京": ("NEXCO中日本", "東名高速道路"),
    "名古屋": ("NEXCO中日本", "名古屋第二環状自動車道_名古屋支線・東名高速道路"),
    "八王子": ("NEXCO中日本", "中央自動車道"),
    "前橋": ("NEXCO東日本", "関越自動車道"),
    "仙台宮城": ("NEXCO東日本", "東北自動車道"),
    "吹田JCT": ("NEXCO西日本", "名神高速道路・近畿自動車道"),   # west of 八日市: NEXCO西日本
    "彦根": ("NEXCO中日本", "名神高速道路"),                      # east of 八日市: NEXCO中日本
    "八日市": ("NEXCO", "名神高速道路"),                          # the boundary itself: one of the three
    "朝日": ("NEXCO中日本", "北陸自動車道"),                      # 朝日IC belongs to NEXCO中日本
    "上越": ("NEXCO東日本", "北陸自動車道"),
    "霞が関": ("首都高速道路", "首都高速都心環状線"),
    "湊町": ("阪神高速道路", "阪神高速15号堺線"),
    "淡路": ("本州四国連絡高速道路", "神戸淡路鳴門自動車道"),
    "坂出北": ("本州四国連絡高速道路", "瀬戸中央自動車道"),
}
# Names two operator families share: no single operator can be recorded for them (docs/ic-master.md).
SHARED = ("高井戸", "鳴門", "豊中", "美女木")


def test_init_loads_the_shipped_master_once_and_keeps_staff_edits(db, runner):
    assert ic_count(db) == 0
    n = shipped_count()
    assert n > 1500
    output = init(runner)
    assert f"同梱の初期データ（app/data/ic_master.csv）から {n}件を登録しました。" in output
    assert ic_count(db) == n
    for name, (operator, road) in WELL_KNOWN.items():
        row = ic(db, name)
        assert (row.road_operator, row.road) == (operator, road), name
    for name in SHARED:
        assert ic(db, name) is None, name

    # staff correct an IC and add one; init again loads nothing and changes nothing
    tokyo = ic(db, "東京")
    tokyo.region = "urban"
    db.session.add(IcMaster(name="首都高速", road_operator="首都高速道路"))
    db.session.commit()
    again = init(runner)
    assert "同梱の初期データ" not in again
    db.session.expire_all()
    assert ic_count(db) == n + 1
    assert ic(db, "東京").region == "urban"


def test_init_does_not_load_into_a_master_staff_already_filled(db, runner):
    db.session.add(IcMaster(name="東京", road="東名高速道路", road_operator="NEXCO中日本", region="urban"))
    db.session.commit()
    assert "同梱の初期データ" not in init(runner)
    assert ic_count(db) == 1


def test_import_ics_takes_the_shipped_file(db, runner):
    n = shipped_count()
    first = runner.invoke(args=["etc", "import-ics", str(SHIPPED_IC_MASTER)])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().splitlines()[0] == f"ic_master.csv: IC {n}件を登録、0件を更新しました。"
    assert ic(db, "淡路").road_operator == "本州四国連絡高速道路"
    # the same file again: every IC found by its name and updated, none added
    second = runner.invoke(args=["etc", "import-ics", str(SHIPPED_IC_MASTER)])
    assert second.stdout.strip().splitlines() == [f"ic_master.csv: IC 0件を登録、{n}件を更新しました。",
                                                  "締め前の月の走行明細 0件の道路事業者を、ICマスタから決めました。"]
    assert ic_count(db) == n


def test_import_ics_matches_names_as_normalised(db, runner, tmp_path):
    """A staff file writing 「東京ＩＣ」 updates the IC 東京, it does not add a second one."""
    runner.invoke(args=["etc", "import-ics", str(SHIPPED_IC_MASTER)])
    n = ic_count(db)
    path = tmp_path / "staff.csv"
    path.write_text("ICコード,IC名,路線,道路事業者,地域区分\n,東京ＩＣ,東名高速道路,NEXCO中日本,大都市近郊\n",
                    encoding="utf-8")
    result = runner.invoke(args=["etc", "import-ics", str(path)])
    assert result.stdout.strip().splitlines()[0] == "staff.csv: IC 0件を登録、1件を更新しました。"
    db.session.expire_all()
    assert ic_count(db) == n
    assert (ic(db, "東京").region, ic(db, "東京IC")) == ("urban", None)


def test_a_name_set_on_the_model_is_stored_normalised(db):
    """Screens (ICマスタ, 道路事業者不明) set IcMaster.name directly: the model normalises it too."""
    db.session.add(IcMaster(name="　吹田ＪＣＴ", road_operator="NEXCO西日本"))
    db.session.commit()
    db.session.expire_all()
    assert [i.name for i in db.session.scalars(select(IcMaster))] == ["吹田JCT"]
