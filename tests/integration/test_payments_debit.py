"""口座振替データ (issue 11 items 1, 2, 7): collection profiles, the 全銀 種別91 file of a closed month per
profile as numbered batches, exclusions, refusals naming the member, YAML, the bank master refresh; on SQLite
and, with TEST_DATABASE_URL, PostgreSQL."""
import datetime as dt
import hashlib
import textwrap

import pytest
from sqlalchemy import func, select, update

from app.domain.errors import DomainError
from app.domain.zengin.files import split_records
from app.models import Member, OperatorSettings
from app.models.billing import Invoice
from app.models.payment import CollectionProfile, DebitBatch, DebitBatchItem
from app.models.tariff import TariffRule
from app.services.actor import acting_as
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import reissue_invoice
from app.services.billing.draft import run_billing
from app.services.collection_profiles import (ProfileImportRefused, ensure_default_profile, export_profiles,
                                              find_profile, import_profiles)
from app.services.debit_files import generate_debit_file, mark_sent
from tests.integration.test_billing import ACTOR, C1, add_usage, invoice_of, load_tariff, make_card, make_member

C4 = "1000040000000045"


def set_operator(db, **values):
    with acting_as(ACTOR):
        settings = db.session.query(OperatorSettings).first()
        defaults = dict(debit_requester_code="1234567890", debit_requester_name_kana="テストキヨウドウクミアイ",
                        bank_code="0001", branch_code="001", account_type=1, account_number="7654321",
                        bank_name="みずほ", branch_name="東京営業部")
        for key, value in {**defaults, **values}.items():
            setattr(settings, key, value)
        db.session.commit()
    return settings


@pytest.fixture()
def closed_october(db, tmp_path):
    """October 2026 closed: M001 and M003 pay by 口座振替 (default profile), M002 by 振込."""
    return close_october(db, tmp_path)


def close_october(db, tmp_path, before_close=None):
    """closed_october's month; `before_close(members)` adds what the close must see (agencies, rules)."""
    load_tariff(tmp_path)
    set_operator(db)
    with acting_as(ACTOR):
        ensure_default_profile()
    m1 = make_member(db, "M001", "株式会社山田運輸")
    m2 = make_member(db, "M002", "髙橋物流有限会社", payment="bank_transfer", account=False)
    m3 = make_member(db, "M003", "佐藤商事")
    with acting_as(ACTOR):
        m1.account_holder_kana = "カブシキガイシャ　ヤマダウンユ"
        m3.bank_code, m3.branch_code, m3.account_number, m3.account_holder_kana = "0005", "001", "0000042", "サトウショウジ"
        db.session.commit()
    c1 = make_card(db, m1, C1)
    make_card(db, m2, "1000020000000021")
    c4 = make_card(db, m3, C4)
    add_usage(db, "2026-10", [(c1, "NEXCO東日本", 30000), (c4, "NEXCO中日本", 2000)])
    members = dict(m1=m1, m2=m2, m3=m3)
    extra = before_close(members) if before_close else {}
    run_billing("2026-10")
    close_billing_run("2026-10", "課長")
    return {**members, **extra}


def test_debit_file_byte_for_byte_and_stored_as_a_batch(db, closed_october):
    m1, m3 = closed_october["m1"], closed_october["m3"]
    one, three = invoice_of(db, m1, "2026-10"), invoice_of(db, m3, "2026-10")
    with acting_as(ACTOR):
        result = generate_debit_file("2026-10")
    batch = result.batch
    assert result.created and batch.number == 1 and batch.status == "generated"
    data = bytes(batch.content)
    assert hashlib.sha256(data).hexdigest() == batch.sha256
    records = split_records(data)
    assert len(data) == 5 * 122 and all(len(r) == 120 for r in records)
    # 引落日: the invoices' 振替日, 2026-12-07 (the 5th is a Saturday).
    assert one.debit_date == dt.date(2026, 12, 7)
    assert records[0] == ("1" "91" "0" "1234567890" + "ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ".ljust(40) + "1207" "0001"
                          + "ﾐｽﾞﾎ".ljust(15) + "001" + "ﾄｳｷﾖｳ".ljust(15) + "1" "7654321" + " " * 17).encode("cp932")
    assert records[1] == ("2" "0001" + "ﾐｽﾞﾎ".ljust(15) + "001" + "ﾄｳｷﾖｳ".ljust(15) + "    " "1" "1234567"
                          + "ｶ)ﾔﾏﾀﾞｳﾝﾕ".ljust(30) + f"{one.total:010d}" + "0" + f"{m1.id:020d}" + "0"
                          + " " * 8).encode("cp932")
    assert records[2][1:5] == b"0005" and records[2][43:50] == b"0000042"
    assert records[2][50:80].decode("cp932").rstrip() == "ｻﾄｳｼﾖｳｼﾞ"
    assert records[3] == f"8{2:06d}{one.total + three.total:012d}{0:06d}{0:012d}{0:06d}{0:012d}".encode() + b" " * 65
    assert records[4] == b"9" + b" " * 119
    assert (batch.record_count, batch.total_amount) == (2, one.total + three.total)
    items = db.session.scalars(select(DebitBatchItem).order_by(DebitBatchItem.line_no)).all()
    assert [(i.member_id, i.invoice_id, i.amount) for i in items] == [(m1.id, one.id, one.total),
                                                                    (m3.id, three.id, three.total)]

    # Again, nothing changed: the same batch and bytes, no new row.
    with acting_as(ACTOR):
        again = generate_debit_file("2026-10", "default")
    assert not again.created and again.batch.id == batch.id and bytes(again.batch.content) == data
    assert db.session.scalar(select(func.count()).select_from(DebitBatch)) == 1


def test_changed_invoices_make_a_new_numbered_batch(db, closed_october):
    m1 = closed_october["m1"]
    with acting_as(ACTOR):
        first = generate_debit_file("2026-10").batch
        mark_sent(first.id)
    first_bytes = bytes(first.content)
    # The card fee was wrong: fixed in the tariff, the invoice re-issued with the new amount.
    with acting_as(ACTOR):
        rule = db.session.scalar(select(TariffRule).where(TariffRule.rule_id == "card_monthly"))
        rule.params = {**rule.params, "amount": 220}
        db.session.commit()
        corrected = reissue_invoice(invoice_of(db, m1, "2026-10").id, "カード管理料の誤り", ACTOR)
        second = generate_debit_file("2026-10")
    assert second.created and second.batch.number == 2
    assert bytes(db.session.get(DebitBatch, first.id).content) == first_bytes  # the sent one is kept as it was
    assert db.session.get(DebitBatch, first.id).status == "sent"
    record = split_records(bytes(second.batch.content))[1]
    assert int(record[80:90]) == corrected.total
    assert corrected.total == int(split_records(first_bytes)[1][80:90]) + 110
    assert second.batch.items[0].invoice_id == corrected.id


def test_zero_and_credit_invoices_are_left_out_with_the_reason(db, closed_october):
    m1, m3 = closed_october["m1"], closed_october["m3"]
    db.session.execute(update(Invoice).where(Invoice.id == invoice_of(db, m3, "2026-10").id).values(total=0))
    db.session.commit()
    with acting_as(ACTOR):
        result = generate_debit_file("2026-10")
    assert [(e.member_code, e.amount) for e in result.excluded] == [("M003", 0)]
    assert "0円" in result.excluded[0].reason
    assert result.batch.record_count == 1 and result.batch.excluded[0]["member_code"] == "M003"
    db.session.execute(update(Invoice).where(Invoice.id == invoice_of(db, m3, "2026-10").id).values(total=-500))
    db.session.execute(update(Invoice).where(Invoice.id == invoice_of(db, m1, "2026-10").id).values(total=-1))
    db.session.commit()
    with pytest.raises(DomainError, match="対象がありません"):
        generate_debit_file("2026-10")


def test_bad_members_are_named_and_no_file_is_stored(db, closed_october):
    m1, m3 = closed_october["m1"], closed_october["m3"]
    with acting_as(ACTOR):
        m1.account_holder_kana = "ヤマダ運輸"  # kanji: cannot be written in kana
        m3.account_number = None
        db.session.commit()
    db.session.execute(update(Invoice).where(Invoice.id == invoice_of(db, m1, "2026-10").id)
                       .values(total=10_000_000_000))
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        generate_debit_file("2026-10")
    message = refused.value.message
    assert "M001 株式会社山田運輸" in message and "運輸" in message
    assert "M003 佐藤商事: 口座" in message
    assert "ファイルは作成していません" in message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DebitBatch)) == 0
    with acting_as(ACTOR):
        m1.account_holder_kana, m3.account_number = "ヤマダウンユ", "0000042"
        db.session.commit()
    with pytest.raises(DomainError, match="M001.*9,999,999,999"):
        generate_debit_file("2026-10")


def test_profiles_split_the_members_and_keep_their_own_options(db, closed_october):
    m1, m3 = closed_october["m1"], closed_october["m3"]
    with acting_as(ACTOR):
        card = CollectionProfile(code="card", name="カード会社収納代行", kind="card_company", requester_code="0000000077",
                                 requester_name_kana="ｼﾕｳﾉｳﾀﾞｲｺｳ", bank_code="0009", branch_code="001", account_type=2,
                                 account_number="1111111", separator="none", customer_number="text",
                                 use_new_code=True)
        db.session.add(card)
        db.session.flush()
        m3.collection_profile_id = card.id
        db.session.commit()
    with pytest.raises(DomainError, match="複数あります.*card.*default"):
        find_profile(None)
    with acting_as(ACTOR):
        default = generate_debit_file("2026-10", "default").batch
        own = generate_debit_file("2026-10", "card").batch
    assert [i.member_id for i in default.items] == [m1.id]
    assert [i.member_id for i in own.items] == [m3.id]
    data = bytes(own.content)
    assert len(data) == 4 * 120 and b"\r\n" not in data  # no separator
    records = split_records(data)
    assert records[0][4:14] == b"0000000077" and records[0][95:103] == b"21111111"
    assert records[1][90:91] == b"1"  # 新規コード: the first debit through this profile
    assert records[1][91:111] == b"M003" + b" " * 16  # 顧客番号 as text
    with pytest.raises(DomainError, match="ありません.*card"):
        find_profile("nosuch")


def test_new_code_on_the_first_debit_and_after_an_account_change(db, closed_october):
    """新規コード (pos 91) with use_new_code: 1 on a member's first debit through the profile, 2 when its account
    changed since the last one, else 0."""
    from app.models import Card

    m3 = closed_october["m3"]
    with acting_as(ACTOR):
        find_profile("default").use_new_code = True
        db.session.commit()
        october = generate_debit_file("2026-10").batch
    assert [r[90:91] for r in split_records(bytes(october.content))[1:-2]] == [b"1", b"1"]
    with acting_as(ACTOR):
        m3.account_number = "0000043"  # M003 moved its debit to another account
        db.session.commit()
    cards = {c.number: c for c in db.session.scalars(select(Card))}
    add_usage(db, "2026-11", [(cards[C1], "NEXCO東日本", 1000), (cards[C4], "NEXCO東日本", 1000)])
    run_billing("2026-11")
    close_billing_run("2026-11", "課長")
    with acting_as(ACTOR):
        november = generate_debit_file("2026-11").batch
    records = split_records(bytes(november.content))[1:-2]
    assert [(r[43:50], r[90:91]) for r in records] == [(b"1234567", b"0"), (b"0000043", b"2")]


def test_profile_debit_day_dates_its_members_invoices(db, tmp_path):
    load_tariff(tmp_path)
    set_operator(db, debit_day=27)
    with acting_as(ACTOR):
        ensure_default_profile()
        other = CollectionProfile(code="late", name="ファクタリング", kind="factoring", debit_day=10)
        db.session.add(other)
        db.session.commit()
    a = make_member(db, "M010", "甲")
    b = make_member(db, "M011", "乙")
    with acting_as(ACTOR):
        b.collection_profile_id = other.id
        db.session.commit()
    add_usage(db, "2026-10", [(make_card(db, a, C1), "NEXCO東日本", 1000), (make_card(db, b, C4), "NEXCO東日本", 1000)])
    run_billing("2026-10")
    close_billing_run("2026-10", "課長")
    assert invoice_of(db, a, "2026-10").debit_date == dt.date(2026, 12, 28)  # 27th is a Sunday
    assert invoice_of(db, b, "2026-10").debit_date == dt.date(2026, 12, 10)


def test_open_month_is_refused(db, tmp_path):
    load_tariff(tmp_path)
    set_operator(db)
    with acting_as(ACTOR):
        ensure_default_profile()
    with pytest.raises(DomainError, match="締められていません"):
        generate_debit_file("2026-10")


def test_init_creates_default_from_operator_settings(db):
    set_operator(db, debit_day=26)
    with acting_as(ACTOR):
        profile = ensure_default_profile()
    db.session.expire_all()
    profile = db.session.scalar(select(CollectionProfile).where(CollectionProfile.code == "default"))
    assert (profile.requester_code, profile.requester_name_kana, profile.bank_code, profile.branch_code,
            profile.account_number, profile.debit_day) == ("1234567890", "ﾃｽﾄｷﾖｳﾄﾞｳｸﾐｱｲ", "0001", "001", "7654321", 26)
    assert db.session.query(OperatorSettings).first().default_collection_profile_id == profile.id
    with acting_as(ACTOR):
        ensure_default_profile()  # again: nothing new
    assert db.session.scalar(select(func.count()).select_from(CollectionProfile)) == 1


def test_yaml_round_trip_and_refusals(db, tmp_path):
    set_operator(db)
    with acting_as(ACTOR):
        ensure_default_profile()
    path = tmp_path / "profiles.yaml"
    assert "1件" in export_profiles(path)
    text = path.read_text(encoding="utf-8")
    assert "code: default" in text and "requester_code: '1234567890'" in text
    assert "flask etc collection-profiles import" in text  # the command the file's comment tells staff to run
    path.write_text(text + textwrap.dedent("""\
      - code: smbc
        name: 三井住友 収納
        requester_code: '555'
        requester_name_kana: かぶしきがいしゃ　てすと
        bank_code: '0009'
        branch_code: '001'
        account_type: 1
        account_number: '123'
        separator: none
        customer_number: text
    """), encoding="utf-8")
    with acting_as(ACTOR):
        assert "追加 1件" in import_profiles(path)
    smbc = db.session.scalar(select(CollectionProfile).where(CollectionProfile.code == "smbc"))
    assert (smbc.requester_code, smbc.requester_name_kana, smbc.account_number, smbc.bank_name) == (
        "0000000555", "ｶ)ﾃｽﾄ", "0000123", "三井住友")
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent("""\
        profiles:
          - code: smbc
            name: x
            bank_code: '9999'
          - code: x2
            name: y
            separator: lf
    """), encoding="utf-8")
    with pytest.raises(ProfileImportRefused) as refused, acting_as(ACTOR):
        import_profiles(bad)
    errors = "\n".join(refused.value.errors)
    assert "1件目（smbc）" in errors and "9999" in errors and "2件目（x2）" in errors
    assert "default" in errors  # dropping the operator's default profile is refused
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CollectionProfile)) == 2


def test_update_banks_lists_accounts_whose_branch_disappeared(db, app):
    m = make_member(db, "M020", "消えた支店")
    with acting_as(ACTOR):
        m.branch_code, m.branch_name = "998", "旧支店"  # not a branch of みずほ (merged away)
        db.session.commit()
    make_member(db, "M021", "名前が古い")
    db.session.execute(update(Member).where(Member.code == "M021").values(bank_name="旧みずほ"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["etc", "update-banks"])
    assert result.exit_code == 1
    assert "M020 消えた支店: 銀行 0001" in result.output and "998" in result.output
    assert "1件更新" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Member.bank_name).where(Member.code == "M021")) == "みずほ"


def test_cli_export_debit_writes_the_batch(db, app, closed_october, tmp_path):
    out = tmp_path / "debit.txt"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["etc", "export", "debit", "2026-10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "第1回: 2件" in result.output
    batch = db.session.scalar(select(DebitBatch))
    assert out.read_bytes() == bytes(batch.content)
    again = runner.invoke(args=["etc", "export", "debit", "2026-10", "--profile", "default", "-o", str(out)])
    assert "同じファイル" in again.output
    bad = runner.invoke(args=["etc", "export", "debit", "2026-11", "-o", str(tmp_path / "x.txt")])
    assert bad.exit_code == 1 and "締められていません" in bad.output
    assert not (tmp_path / "x.txt").exists()


def test_screens_generate_download_and_send(db, closed_october, staff_client):
    page = staff_client.get("/billing/month/2026-10")
    assert "口座振替データを作成" in page.get_data(as_text=True)
    response = staff_client.post("/debit-batches/generate", data={"month": "2026-10", "profile": "default"},
                                 follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "第1回を作成しました" in body and "ｶ)ﾔﾏﾀﾞｳﾝﾕ" in body
    batch = db.session.scalar(select(DebitBatch))
    download = staff_client.get(f"/debit-batches/download/{batch.id}")
    assert download.data == bytes(batch.content)
    staff_client.post(f"/debit-batches/send/{batch.id}")
    db.session.expire_all()
    assert db.session.get(DebitBatch, batch.id).status == "sent"


def test_manager_downloads_but_does_not_generate(db, closed_october, manager_client):
    response = manager_client.post("/debit-batches/generate", data={"month": "2026-10", "profile": "default"})
    assert response.status_code in (302, 403)
    assert db.session.scalar(select(func.count()).select_from(DebitBatch)) == 0


def test_profile_screen_converts_the_kana(db, staff_client):
    response = staff_client.post("/collection-profiles/add", data={
        "code": "bank2", "name": "地方銀行", "kind": "bank", "requester_code": "42",
        "requester_name_kana": "ゆうげんがいしゃ　てすと", "bank_code": "0001", "branch_code": "001",
        "account_type": "1", "account_number": "12", "separator": "crlf", "customer_number": "numeric",
        "charset": "strict"}, follow_redirects=True)
    assert response.status_code == 200
    profile = db.session.scalar(select(CollectionProfile).where(CollectionProfile.code == "bank2"))
    assert (profile.requester_code, profile.requester_name_kana, profile.account_number) == (
        "0000000042", "ﾕ)ﾃｽﾄ", "0000012")
    refused = staff_client.post("/collection-profiles/add", data={
        "code": "bank3", "name": "x", "kind": "bank", "requester_name_kana": "山田", "separator": "crlf",
        "customer_number": "numeric", "charset": "strict"})
    assert "全銀ファイルに書けない文字" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CollectionProfile)) == 1


def test_profile_screen_yaml_download_and_upload(db, staff_client):
    """「YAMLで書き出し」「YAMLを取り込む」 on the 収納代行・委託者 screen, all or nothing as the tariff's."""
    import io

    set_operator(db)
    with acting_as(ACTOR):
        ensure_default_profile()
    response = staff_client.get("/collection-profiles/yaml/")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("# Tollbook 収納代行・委託者") and "requester_code: '1234567890'" in text

    def upload(body: str) -> str:
        return staff_client.post("/collection-profiles/upload/", data={"file": (io.BytesIO(body.encode()), "p.yaml")},
                                 content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)

    page = upload(text.replace("separator: crlf", "separator: lf").replace("account_number: '7654321'",
                                                                             "account_number: '1234'"))
    assert "crlf か none" in page and "default" in page
    db.session.rollback()
    assert db.session.scalar(select(CollectionProfile.separator)) == "crlf"  # nothing changed
    page = upload(text.replace("separator: crlf", "separator: none"))
    assert "収納代行・委託者を取り込みました（追加 0件, 変更 1件" in page
    db.session.expire_all()
    assert db.session.scalar(select(CollectionProfile.separator)) == "none"
