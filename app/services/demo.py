"""Demo data: a cooperative with 20 members, 2 agencies, vehicles, about 60 cards and some events, and
the usage of the last two months: the older one billed and closed, the newer one a draft with a few
未登録カード and one 紛失後利用 to resolve (app/services/demo_usage.py, issue 9 item 18).

Deterministic (fixed seed; the months follow today's date), and loaded once: a second run changes nothing.
"""
import datetime as dt
import io
import random

import zengin_code

from app.domain.card_lifecycle import CANCEL, LOSS, REISSUE, VEHICLE_CHANGE
from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.month import Month
from app.extensions import appbuilder, db
from app.models import Agency, Card, CardEvent, Member, MemberAccount, Vehicle
from app.security.roles import ROLE_MANAGER, ROLE_MEMBER, ROLE_STAFF
from app.security.secret_key import is_production

from .cards import apply_card_event, prepare_new_card
from .collection_profiles import ensure_default_profile
from .demo_usage import DemoCardUse, demo_usage_file
from .setup import ensure_operator, is_production_database

DEMO_PASSWORD = "tollbook-demo"
_COMPANIES = [
    ("山田運輸", "ヤマダウンユ"), ("髙橋物流", "タカハシブツリュウ"), ("山﨑急便", "ヤマサキキュウビン"), ("東海トランスポート", "トウカイトランスポート"),
    ("丸栄運送", "マルエイウンソウ"), ("北斗ロジスティクス", "ホクトロジスティクス"), ("青葉通運", "アオバツウウン"),
    ("富士急配", "フジキュウハイ"), ("さくら陸送", "サクラリクソウ"), ("中部冷凍輸送", "チュウブレイトウユソウ"),
    ("関東エクスプレス", "カントウエクスプレス"), ("大和配送センター", "ヤマトハイソウセンター"), ("浜名湖運輸", "ハマナコウンユ"),
    ("みなと海陸", "ミナトカイリク"), ("信州トラック", "シンシュウトラック"), ("若葉商事", "ワカバショウジ"),
    ("湘南カーゴ", "ショウナンカーゴ"), ("三河運送", "ミカワウンソウ"), ("東北ライン", "トウホクライン"), ("近畿定期便", "キンキテイキビン"),
]
_REGIONS = ["品川", "練馬", "多摩", "横浜", "相模", "浜松", "名古屋", "尾張小牧", "三河", "大阪"]
_KANA = "あいうえかきくけこさすせそたちつてとなにぬねのはひふほまみむめもやゆよらりるれろわ"
_BANKS = ["0001", "0005", "0009", "0010", "0017"]


def _bank(rng: random.Random):
    bank = zengin_code.Bank[rng.choice(_BANKS)]
    branch = list(bank.branches.values())[rng.randrange(min(20, len(bank.branches)))]
    return bank, branch


def _card_number(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(str(rng.randrange(10)) for _ in range(16 - len(prefix)))


def _user(username, first, role_name, password):
    sm = appbuilder.sm
    user = sm.find_user(username=username)
    if user is None:
        user = sm.add_user(username=username, first_name=first, last_name="", email=f"{username}@tollbook.invalid",
                           role=sm.find_role(role_name), password=password)
    return user


def load_demo_data() -> str:
    # Demo users have a published password (DEMO_PASSWORD): they must never exist in production.
    if is_production() or is_production_database():
        raise DomainError("本番環境のデータベースにはデモデータを入れられません（本番の印が付いているか、"
                          "TOLLBOOK_ENV=production で実行しています）。何も変更していません。")
    if db.session.query(Member).first() is not None:
        return "デモデータは既に入っています（何も変更していません）。"
    rng = random.Random(20261125)
    settings = ensure_operator()
    settings.name = "東都運送事業協同組合"
    settings.operator_type = "cooperative"
    settings.postal_code = "105-0011"
    settings.address = "東京都港区芝公園1-2-3"
    settings.phone = "03-1234-5678"
    settings.registration_number = "T7000012050002"
    settings.debit_day = 27
    settings.debit_requester_code, settings.debit_requester_name_kana = "1234567890", "トウトウンソウジギヨウキヨウドウクミアイ"
    settings.bank_code, settings.bank_name, settings.branch_code, settings.branch_name = "0001", "みずほ", "001", "東京営業部"
    settings.account_type, settings.account_number = 1, "1234567"
    settings.account_holder_kana = "トウトウンソウジギヨウキヨウドウクミアイ"
    agencies = [Agency(code="A001", name="株式会社みらい保険サービス", kana="ミライホケンサービス"),
                Agency(code="A002", name="有限会社中央ビジネス", kana="チュウオウビジネス")]
    for agency in agencies:
        bank, branch = _bank(rng)
        agency.bank_code, agency.bank_name, agency.branch_code, agency.branch_name = (
            bank.code, bank.name, branch.code, branch.name)
        agency.account_type, agency.account_number = 1, f"{rng.randrange(10**6, 10**7):07d}"
        agency.account_holder_kana = agency.kana
        db.session.add(agency)
    now = today_jst()
    newer = Month(now.year, now.month).previous()  # the month being billed now: left as a draft
    older = newer.previous()  # billed and closed
    today = older.first_day
    event_day = newer.first_day.replace(day=10)
    used_plates, cards = set(), []
    for i, (name, kana) in enumerate(_COMPANIES, start=1):
        bank, branch = _bank(rng)
        member = Member(
            code=f"M{i:04d}", name=f"株式会社{name}", kana=kana,
            postal_code=f"{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
            address=f"東京都大田区平和島{i}-{rng.randrange(1, 30)}-{rng.randrange(1, 20)}",
            phone=f"03-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
            email=f"info{i:02d}@example.jp", contact_person=rng.choice(["佐藤", "鈴木", "田中", "伊藤", "渡辺"]),
            agency=agencies[i % 3] if i % 3 < 2 else None,
            payment_method="bank_transfer" if i % 7 == 0 else "direct_debit",
            bank_code=bank.code, bank_name=bank.name, branch_code=branch.code, branch_name=branch.name,
            account_type=1 if i % 5 else 2, account_number=f"{rng.randrange(10**6, 10**7):07d}",
            account_holder_kana=kana, status="active")
        db.session.add(member)
        for j in range(3):
            while True:
                plate = (rng.choice(_REGIONS), str(rng.choice([100, 130, 400, 800, 880, 500])),
                         rng.choice(_KANA), rng.randrange(1, 9999))
                if plate not in used_plates:
                    used_plates.add(plate)
                    break
            vehicle = Vehicle(member=member, plate_region=plate[0], plate_class_number=plate[1],
                              plate_kana=plate[2], plate_serial=plate[3], vehicle_class=rng.choice([1, 2, 2, 3, 4]),
                              is_etc2=rng.random() < 0.4, is_commercial=True)
            db.session.add(vehicle)
            corporate = j < 2 or i % 4 == 0
            card = Card(number=_card_number(rng, "9011" if corporate else "4980"),
                        kind="corporate" if corporate else "credit",
                        issuer="NEXCO" if corporate else "トールブック信販", member=member,
                        vehicle=vehicle if corporate else None,
                        valid_from=today - dt.timedelta(days=rng.randrange(30, 1500)))
            if not corporate:
                card.valid_until = dt.date(2029, 12, 31)
            prepare_new_card(db.session, card)
            cards.append(card)
            db.session.flush()
    corporate_cards = [c for c in cards if c.kind == "corporate"]
    changed = corporate_cards[4]
    spare = Vehicle(member=changed.member, plate_region="足立", plate_class_number="100", plate_kana="さ",
                    plate_serial=1000 + changed.member_id, vehicle_class=2, is_commercial=True)
    db.session.add(spare)
    events = [(corporate_cards[0], LOSS, {}), (corporate_cards[1], LOSS, {}),
              (corporate_cards[1], REISSUE, {"new_card_number": _card_number(rng, "9011")}),
              (corporate_cards[4], VEHICLE_CHANGE, {"new_vehicle": spare}),
              (corporate_cards[7], CANCEL, {})]
    for card, kind, extra in events:
        event = CardEvent(card=card, kind=kind, occurred_on=event_day, note="デモ", **extra)
        apply_card_event(db.session, event)
        db.session.flush()
    members_cards = [(c, c.vehicle) for c in cards]
    old_plates = {c.id: v.plate_text() if v is not None else "" for c, v in members_cards}
    _user("jimu", "事務 花子", ROLE_STAFF, DEMO_PASSWORD)
    _user("sekinin", "責任者 一郎", ROLE_MANAGER, DEMO_PASSWORD)
    member_user = _user("m0001", "山田運輸", ROLE_MEMBER, DEMO_PASSWORD)
    first_member = db.session.query(Member).filter_by(code="M0001").one()
    db.session.add(MemberAccount(user_id=member_user.id, member=first_member))
    ensure_default_profile()  # 収納代行・委託者 `default` from the operator's 委託者コード and account (commits)
    usage = _demo_months(rng, cards, corporate_cards, old_plates, spare, older, newer, event_day)
    return (f"デモデータを登録しました: {db.session.query(Member).count()}組合員, {len(agencies)}代理店, "
            f"{db.session.query(Vehicle).count()}車両, {db.session.query(Card).count()}カード, "
            f"{db.session.query(CardEvent).count()}異動。\n{usage}\n"
            f"デモ用ログイン（パスワードはすべて {DEMO_PASSWORD}）: 事務 jimu / 責任者 sekinin / 組合員ポータル m0001")


def _demo_months(rng, cards, corporate, old_plates, spare, older: Month, newer: Month, event_day: dt.date) -> str:
    """Import two months of usage through the import service, bill and close the older one, draft the newer."""
    from .billing.close import close_billing_run
    from .billing.draft import run_billing
    from .ic_master import ensure_shipped_ic_master
    from .usage_import import import_usage_file

    from .tariff import ensure_default_tariff

    # As after `flask etc init`: the files have no operator column (the IC master gives it), and the
    # shipped tariff prices the months.
    ensure_shipped_ic_master()
    ensure_default_tariff()

    def use(card, first, last, trips, plate=None):
        vehicle_class = card.vehicle.vehicle_class if card.vehicle is not None else 1
        return DemoCardUse(card.number, plate if plate is not None else old_plates.get(card.id, ""), vehicle_class,
                           first, last, trips)

    lost, reissued, changed, cancelled = corporate[0], corporate[1], corporate[4], corporate[7]
    successor = reissued.successors[0]
    before, after = event_day - dt.timedelta(days=1), event_day + dt.timedelta(days=1)
    older_uses = [use(c, older.first_day, older.last_day, rng.randint(3, 9)) for c in cards]
    newer_uses = []
    for card in cards:
        trips = rng.randint(3, 9)
        if card in (lost, reissued, cancelled):
            newer_uses.append(use(card, newer.first_day, before, trips))
        elif card is changed:
            newer_uses.append(use(card, newer.first_day, before, trips // 2 + 1))
            newer_uses.append(use(card, after, newer.last_day, trips // 2 + 1, spare.plate_text()))
        else:
            newer_uses.append(use(card, newer.first_day, newer.last_day, trips))
    newer_uses.append(use(successor, after, newer.last_day, 4, old_plates.get(reissued.id, "")))
    after_loss = newer.first_day.replace(day=20)
    newer_uses.append(use(lost, after_loss, after_loss, 1))  # 紛失後利用: driven after the loss was reported
    # 未登録カード: two cards the office has not registered yet, driven in a member's vehicles
    owner_cards = [c for c in cards if c.member.code == "M0003" and c.vehicle is not None]
    for k, card in enumerate(owner_cards[:2]):
        newer_uses.append(DemoCardUse(f"9011{rng.randrange(10**11, 10**12):012d}"[:16], card.vehicle.plate_text(),
                                      card.vehicle.vehicle_class, newer.first_day, newer.last_day, 2 + k))
    counts = []
    for month, uses in ((older, older_uses), (newer, newer_uses)):
        content = demo_usage_file(uses, rng)
        summary = import_usage_file(io.BytesIO(content), "etc-meisai", str(month),
                                    file_name=f"ETC利用照会_{month.year}{month.month:02d}.csv")
        counts.append(f"{month.label}分 {summary.rows:,}件")
    run_billing(str(older))
    close_billing_run(str(older), "flask etc demo")
    run_billing(str(newer))
    # The closed month's 請求書・明細 as the close's background job would make them, so that the member
    # portal (m0001) and the billing screen show documents at once.
    from .documents.rendering import render_documents

    rendered = render_documents(str(older), processes=2)
    return (f"走行明細を取り込みました（{'、'.join(counts)}）。{older.label}分は締め済（帳票 {rendered.rendered:,}件）、"
            f"{newer.label}分は請求の下書きです（未登録カード・紛失後利用の確認が残っています）。")
