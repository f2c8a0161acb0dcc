"""issue 8 item 9: the master import (Excel) against hostile files. A zip bomb is refused from the
zip's directory, fast and in little memory (measured in a child process); the upload size, the
rows of a sheet (also when the sheet's <dimension> lies) and the error list are bounded, each
refusal naming its limit in Japanese; nothing is saved."""
import io
import re
import textwrap
import zipfile

import pytest

from app.importers.master_excel import template_bytes
from app.services.actor import acting_as
from app.services.master_import import MasterImportFailed, import_master_file
from tests.integration.measure import run_measured
from tests.integration.test_master_import import (MEMBER_HEADERS, MEMBERS, assert_nothing_saved, replaced, upload_master,
                                                  write_book)


def zip_bomb(path, rows: int = 5_000_000):
    """The template whose sheet 組合員 has `rows` rows of one member code each: ~230 MB unpacked from
    well under 1 MB. Read as it was before, every row became a Python object (minutes, gigabytes)."""
    source = zipfile.ZipFile(io.BytesIO(template_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                out.writestr(item, source.read(item.filename))
        with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                       'spreadsheetml/2006/main"><sheetData><row><c t="inlineStr"><is><t>組合員コード</t></is></c>'
                       '</row>'.encode())
            block = b'<row><c t="inlineStr"><is><t>M1</t></is></c></row>' * 10_000
            for _ in range(rows // 10_000):
                part.write(block)
            part.write(b"</sheetData></worksheet>")
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    return zip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx")


def test_a_zip_bomb_is_refused_fast_in_bounded_memory(db, bomb):
    assert bomb.stat().st_size < 3 * (1 << 20)
    code = textwrap.dedent(f"""
        from app import create_app
        from app.services.actor import acting_as
        from app.services.master_import import MasterImportFailed, import_master_file
        app = create_app()
        with app.app_context(), acting_as("test"):
            try:
                import_master_file({str(bomb)!r})
            except MasterImportFailed as failure:
                print("REFUSED", [str(e) for e in failure.errors])
            else:
                print("IMPORTED")
    """)
    seconds, peak_mb, output = run_measured(code, timeout=90, max_memory_mb=1536)
    assert "REFUSED" in output and "展開後のサイズが大きすぎます" in output and "上限 100.0 MB" in output, output[-2000:]
    assert peak_mb is not None and peak_mb < 400, (peak_mb, output[-2000:])
    assert seconds < 30, seconds
    assert_nothing_saved(db)


def test_the_screen_refuses_a_zip_bomb(staff_client, app, db, tmp_path, monkeypatch):
    # A small bomb against a small limit: this runs in the test process, so code that unpacked it
    # must fail the test, not take the machine's memory (the big one is measured in a child above).
    monkeypatch.setitem(app.config, "MASTER_IMPORT_MAX_UNCOMPRESSED_BYTES", 1 << 20)
    small = zip_bomb(tmp_path / "small.xlsx", rows=50_000)
    response = upload_master(staff_client, io.BytesIO(small.read_bytes()), "bomb.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "bomb.xlsx: 取り込めませんでした（1件のエラー）" in page and "展開後のサイズが大きすぎます" in page
    assert "上限 1.0 MB" in page
    assert_nothing_saved(db)


def test_an_upload_over_the_size_limit_is_refused_naming_the_limit(staff_client, app, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MASTER_IMPORT_MAX_BYTES", 4096)
    body = write_book(tmp_path / "big.xlsx").read_bytes()
    assert len(body) > 4096
    answer = upload_master(staff_client, io.BytesIO(body), "big.xlsx")
    assert answer.status_code == 400  # refused at once, before any job starts
    page = answer.get_data(as_text=True)
    assert "big.xlsx: ファイルが大きすぎます（上限 4 KB）" in page
    assert_nothing_saved(db)
    with acting_as("test"), pytest.raises(MasterImportFailed) as failure:  # the CLI's path too
        import_master_file(str(tmp_path / "big.xlsx"))
    assert "ファイルが大きすぎます（上限 4 KB）" in str(failure.value.errors[0])


def _members(count: int):
    return [[f"M{n:04d}", f"会社{n}", "カイシャ", None, None, "振込", None, None, None, None, None]
            for n in range(1, count + 1)]


def _lying_dimension(path):
    """The same workbook with every sheet claiming to be one cell (<dimension ref="A1"/>)."""
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', body)
            out.writestr(item, body)
    return path


@pytest.mark.parametrize("lying", [False, True])
def test_a_sheet_over_the_row_limit_is_refused(app, db, tmp_path, monkeypatch, lying):
    monkeypatch.setitem(app.config, "MASTER_IMPORT_MAX_ROWS", 5)
    path = write_book(tmp_path / "rows.xlsx", members=_members(10), vehicles=[], cards=[])
    if lying:
        _lying_dimension(path)
    with acting_as("test"), pytest.raises(MasterImportFailed) as failure:
        import_master_file(str(path))
    assert [str(e) for e in failure.value.errors] == [
        "シート「組合員」: 行が多すぎます（上限 5行）。ファイルを分けて取り込んでください。"]
    assert_nothing_saved(db)


def test_the_error_list_keeps_the_first_errors_and_the_count(staff_client, app, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MASTER_IMPORT_MAX_ERRORS", 3)
    members = _members(8)
    for index in range(8):
        members = replaced(members, index, 2, "漢字")  # kanji in the kana column: one error per row
    path = write_book(tmp_path / "errors.xlsx", members=members, vehicles=[], cards=[])
    with acting_as("test"), pytest.raises(MasterImportFailed) as failure:
        import_master_file(str(path))
    assert failure.value.total == 8 and len(failure.value.errors) == 3 and failure.value.truncated
    assert [e.row for e in failure.value.errors] == [2, 3, 4]
    page = upload_master(staff_client, io.BytesIO(path.read_bytes()), "errors.xlsx").get_data(as_text=True)
    assert "errors.xlsx: 取り込めませんでした（8件のエラー）" in page and "最初の3件を表示しています" in page
    assert page.count("<tr><td>組合員</td>") == 3
    result = app.test_cli_runner().invoke(args=["etc", "import-master", str(path)])
    assert result.exit_code == 1 and "（8件のエラー）" in result.output and "最初の3件を表示しました" in result.output
