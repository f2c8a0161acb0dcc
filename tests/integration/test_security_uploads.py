"""issue 8 items 10 and 12: hostile tariff files and hostile upload names.

- A YAML alias bomb ("billion laughs") is refused at its first anchor, fast and in little memory
  (measured in a child process), through the CLI and the screen; unknown parameter keys and
  oversized files are refused with Japanese messages. Nothing changes, nothing is audited.
- Uploads named `..` or `../../etc/passwd` are read from the stream: never a 500, never a path."""
import io
import re
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models.audit import AuditLog
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.tariff import TariffImportRefused, ensure_default_tariff, import_tariff
from tests.integration.measure import run_measured

ROOT = Path(__file__).resolve().parents[2]


def billion_laughs(levels: int = 9) -> str:
    """A 1 KB tariff whose `lol8` would be 10**9 strings once expanded (YAML anchors and aliases)."""
    lines = ["rules:", "  - id: fee", "    type: usage_fee", '    rate: "0.02"',
             '    lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*lol{level - 1}"] * 10)
        lines.append(f"    lol{level}: &lol{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _counts(db):
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(TariffRule)),
            db.session.scalar(select(func.count()).select_from(AuditLog)))


@pytest.fixture()
def tariff(db):
    ensure_default_tariff()
    return _counts(db)


def test_an_alias_bomb_is_refused_fast_in_bounded_memory(db, tariff, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    assert bomb.stat().st_size < 3000
    code = textwrap.dedent(f"""
        from app import create_app
        from app.services.actor import acting_as
        from app.services.tariff import TariffImportRefused, import_tariff
        app = create_app()
        with app.app_context(), acting_as("test"):
            try:
                import_tariff({str(bomb)!r})
            except TariffImportRefused as refused:
                print("REFUSED", refused.errors)
            else:
                print("IMPORTED")
    """)
    seconds, peak_mb, output = run_measured(code, timeout=60, max_memory_mb=1536)
    assert "REFUSED" in output and "アンカー（&）とエイリアス（*）は使えません" in output, output[-2000:]
    assert "5行目" in output  # the first anchor
    assert peak_mb is not None and peak_mb < 400, (peak_mb, output[-2000:])
    assert seconds < 30, seconds
    assert _counts(db) == tariff  # nothing replaced, nothing audited


def test_the_screen_refuses_an_alias_bomb_and_changes_nothing(manager_client, db, tariff):
    # A small bomb (10**6 strings): this runs in the test process, so code that expanded it must
    # fail the test, not take the machine's memory (the 10**9 one is measured in a child above).
    bomb = billion_laughs(levels=6).encode()
    response = manager_client.post("/tariff/upload/", data={"file": (io.BytesIO(bomb), "b.yaml")},
                                 content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "b.yaml: 料金表に1件の誤りがあるため取り込みませんでした。" in page
    assert "アンカー（&amp;）とエイリアス（*）は使えません" in page
    assert _counts(db) == tariff


def test_a_merge_key_is_an_alias_too(db, tariff, tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(textwrap.dedent("""\
        base: &base {type: usage_fee, rate: "0.02"}
        rules:
          - <<: *base
            id: fee
    """))
    with acting_as("test"), pytest.raises(TariffImportRefused) as refused:
        import_tariff(path)
    assert refused.value.errors == ["1行目: アンカー（&）とエイリアス（*）は使えません。値はそれぞれの規則に書いてください。"]


def test_unknown_parameter_keys_are_refused(db, tariff, tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(textwrap.dedent("""\
        rules:
          - {id: fee, type: usage_fee, rate: "0.02", rte: "0.5"}
          - {id: share, type: member_discount, method: pass_through, ratio: "1.0", road_operator: NEXCO}
    """))
    with acting_as("test"), pytest.raises(TariffImportRefused) as refused:
        import_tariff(path)
    assert len(refused.value.errors) == 2, refused.value.errors
    assert refused.value.errors[0].startswith("規則1（fee）: usage_fee に「rte」は書けません")
    assert refused.value.errors[1].startswith("規則2（share）: member_discount に「road_operator」は書けません")
    assert _counts(db) == tariff


def test_a_tariff_file_over_the_limit_is_refused_naming_the_limit(app, db, tariff, tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    path.write_text("rules: []\n" + "#" * (256 * 1024) + "\n")
    with acting_as("test"), pytest.raises(TariffImportRefused) as refused:
        import_tariff(path)
    assert refused.value.errors == ["big.yaml: ファイルが大きすぎます（上限 256 KB）。"
                                    "分けて取り込むか、管理者に上限の変更を依頼してください。"]
    monkeypatch.setitem(app.config, "TARIFF_MAX_BYTES", 1024)
    path.write_text("rules: []\n" + "#" * 2000 + "\n")
    with acting_as("test"), pytest.raises(TariffImportRefused) as refused:
        import_tariff(path)
    assert "上限 1 KB" in refused.value.errors[0]
    assert _counts(db) == tariff


IC_CSV = "ICコード,IC名,路線,道路事業者,地域区分\r\n1040,東京,東名高速道路,NEXCO中日本,大都市近郊\r\n".encode("cp932")


@pytest.mark.parametrize("name", ["..", "../../etc/passwd", ".", "a/..", "..\\..\\boot.ini", "x" * 300])
def test_uploads_with_hostile_names_are_read_from_the_stream(admin_client, db, tariff, name):
    staff_client = admin_client  # the tariff (責任者, 管理者) and the IC master (事務, 管理者)
    yaml_body = Path(ROOT / "app" / "tariffs" / "default.yaml").read_bytes()
    response = staff_client.post("/tariff/upload/", data={"file": (io.BytesIO(yaml_body), name)},
                                 content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-500:]
    assert re.search(r"料金表を取り込みました（規則 \d+件, 版 \d+件）", page), page[-1000:]

    response = staff_client.post("/icmasterview/upload/", data={"file": (io.BytesIO(IC_CSV), name)},
                                 content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-500:]
    assert "IC 1件を登録、0件を更新しました" in page or "IC 0件を登録、1件を更新しました" in page


def test_no_view_builds_a_path_from_the_clients_file_name():
    """Uploads are read from their stream; the client's name is only text (display_name)."""
    for path in (ROOT / "app" / "views").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert ".save(" not in source, path
        assert "secure_filename" not in source, path
        for line in source.splitlines():
            if "upload.filename" in line and "not upload.filename" not in line:
                assert re.search(r"display_name\(upload\.filename\)", line), (path.name, line)
