"""マスタ取込（Excel）: members, vehicles and cards from the system a cooperative is leaving.

All or nothing: every row of every sheet is checked first with the app/domain rules and every
problem is collected (sheet, row, column, reason in Japanese); only a file without a single
problem is saved, in one transaction. Re-running the same file changes nothing:
- 組合員 are matched by 組合員コード and updated from the file (only the columns the sheet has);
- 車両 are matched by 車両番号 and updated; a vehicle never moves to another member here;
- カード are matched by カード番号: a new card is registered through prepare_new_card, so it gets
  its 新規発行/追加発行 event; a registered card is left as it is (its state changes only by
  card events) and must agree with the file on member, kind and vehicle.
"""
import datetime as dt
import io
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.domain.bank_account import make_bank_account
from app.domain.card_lifecycle import ACTIVE, end_of_month
from app.domain.card_number import CARD_KINDS, CORPORATE, CREDIT, format_card_number, normalize_card_number
from app.domain.errors import DomainError
from app.domain.kana import normalize_kana
from app.domain.plate import Plate, parse_plate
from app.domain.vehicle_class import parse_vehicle_class
from app.extensions import db
from app.importers.master_excel import (CARDS, COLUMNS, MEMBERS, VEHICLES, CellError, Limits, SheetRow,
                                        read_workbook)
from app.models import Agency, Card, Member, Vehicle
from app.models.member import ACTIVE as MEMBER_ACTIVE, BANK_TRANSFER, DIRECT_DEBIT, WITHDRAWN

from .cards import prepare_new_card
from .uploads import limit, spool_capped, too_large

EVENT_NOTE = "マスタ取込（Excel）"


class MasterImportFailed(Exception):
    """The file has problems; nothing was saved. `errors` lists the first MASTER_IMPORT_MAX_ERRORS
    of them in sheet and row order; `total` counts them all."""

    def __init__(self, errors):
        errors = list(errors)
        self.total = len(errors)
        self.errors = errors[:_max_errors()]
        super().__init__(f"マスタ取込: {self.total}件のエラー")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.errors)


def _max_errors() -> int:
    try:
        return limit("MASTER_IMPORT_MAX_ERRORS")
    except RuntimeError:  # outside an app context (unit use): keep them all
        return 1 << 62


def import_master_file(source, file_name: str | None = None, progress=None) -> str:
    """Check the whole workbook, then save it in one transaction. Returns the Japanese summary.
    `source` is a path or a binary stream (an upload: spooled to an anonymous temporary file, never
    read into memory whole); the size limits in config.py apply before anything is parsed.
    `progress(rows=…, sheets_done=…, sheets_total=…)`, if given, is called as each sheet has been
    checked (the screen's progress bar; the import runs in the background there)."""
    name = file_name or (Path(source).name if isinstance(source, (str, os.PathLike)) else "Excelファイル")
    try:
        readable = _readable(source, name)
    except DomainError as error:
        raise MasterImportFailed([CellError(None, None, None, error.message)]) from None
    limits = Limits(uncompressed_bytes=limit("MASTER_IMPORT_MAX_UNCOMPRESSED_BYTES"),
                    rows=limit("MASTER_IMPORT_MAX_ROWS"))
    try:
        workbook = read_workbook(readable, limits)
    finally:
        if readable is not source and hasattr(readable, "close"):
            readable.close()
    if workbook.errors:
        raise MasterImportFailed(workbook.errors)
    plan = _Checker(workbook.headers, progress).check(workbook.sheets)
    return str(_save(plan))


def _readable(source, name: str):
    maximum = limit("MASTER_IMPORT_MAX_BYTES")
    if isinstance(source, (bytes, bytearray)):
        if len(source) > maximum:
            raise too_large(name, maximum)
        return io.BytesIO(source)
    if isinstance(source, (str, os.PathLike)):
        if os.path.getsize(source) > maximum:
            raise too_large(name, maximum)
        return open(source, "rb")
    return spool_capped(source, maximum, name)  # an upload (werkzeug FileStorage) or any binary stream


# ---------------------------------------------------------------- reading cell values

_TRUE = {"○", "〇", "◯", "●", "はい", "有", "あり", "1", "TRUE", "YES", "Y", "済"}
_FALSE = {"", "×", "✕", "いいえ", "無", "なし", "0", "FALSE", "NO", "N", "-", "ー"}
_KINDS = {"コーポレート": CORPORATE, "コーポレートカード": CORPORATE, "ETCコーポレートカード": CORPORATE,
          "CORPORATE": CORPORATE, "クレジット": CREDIT, "クレジットカード": CREDIT, "ETCクレジットカード": CREDIT,
          "CREDIT": CREDIT}
_PAYMENT = {"口座振替": DIRECT_DEBIT, "振替": DIRECT_DEBIT, "自動振替": DIRECT_DEBIT, "振込": BANK_TRANSFER,
            "銀行振込": BANK_TRANSFER}
_MEMBER_STATUS = {"在籍": MEMBER_ACTIVE, "脱退": WITHDRAWN}
_BANK_HEADERS = ("銀行コード", "支店コード", "預金種目", "口座番号", "口座名義カナ")
_BANK_FIELDS = {"bank_code": "銀行コード", "branch_code": "支店コード", "account_type": "預金種目",
                "account_number": "口座番号", "account_holder_kana": "口座名義カナ"}
_CARD_FIELDS = {"number": "カード番号", "vehicle": "車両番号", "member": "組合員コード",
                "valid_until": "有効期限", "valid_from": "有効開始日", "issuer": "発行元"}
_ZERO_PAD = {"銀行コード": 4, "支店コード": 3}  # Excel turns 0005 typed in a number cell into 5


def cell_text(value, width: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return f"{value:%Y/%m/%d}"
    if isinstance(value, dt.date):
        return f"{value:%Y/%m/%d}"
    text = str(value).strip()
    if width and isinstance(value, int):
        text = text.zfill(width)
    return text


def parse_date(value, *, month_end: bool = False) -> dt.date | None:
    """An Excel date, or text 2026/11/25, 2026-11-25, 2026年11月25日 (and 2026/11 = month end)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    for sep in ("年", "月", "-", "."):
        text = text.replace(sep, "/")
    parts = [p for p in text.rstrip("日").split("/") if p != ""]
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 3:
            return dt.date(*numbers)
        if len(numbers) == 2 and month_end:
            return end_of_month(dt.date(numbers[0], numbers[1], 1))
    except ValueError:
        pass
    example = "2026/11/25 または 2026/11" if month_end else "2026/11/25"
    raise DomainError(f"「{cell_text(value)}」を日付として読み取れません（例: {example}）。")


def parse_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", cell_text(value)).upper()
    if text in _TRUE or text in {unicodedata.normalize("NFKC", t) for t in _TRUE}:
        return True
    if text in _FALSE or text in {unicodedata.normalize("NFKC", t) for t in _FALSE}:
        return False
    raise DomainError(f"「{cell_text(value)}」は ○ か空欄で入力してください。")


def _choice(value, choices: dict, message: str):
    text = unicodedata.normalize("NFKC", cell_text(value)).upper()
    for name, code in choices.items():
        if unicodedata.normalize("NFKC", name).upper() == text:
            return code
    raise DomainError(message)


_INVALID = object()


class _Row:
    """One row being checked: reads its cells and records problems against its sheet and row."""

    def __init__(self, sheet: str, row: SheetRow, headers: set, errors: list):
        self.sheet, self.number, self.values, self.headers, self.errors = sheet, row.number, row.values, headers, errors
        self.specs = {spec.header: spec for spec in COLUMNS[sheet]}
        self.failed = False
        self.kind = None

    def has(self, header: str) -> bool:
        return header in self.headers

    def raw(self, header: str):
        return self.values.get(header)

    def error(self, header: str, reason: str):
        self.failed = True
        self.errors.append(CellError(self.sheet, self.number, header, reason))

    def text(self, header: str, *, required: bool = False) -> str:
        text = cell_text(self.raw(header), _ZERO_PAD.get(header))
        if required and not text:
            self.error(header, "入力してください。")
            return ""
        limit = self.specs[header].max_length
        if limit and len(text) > limit:
            self.error(header, f"{limit}文字以内で入力してください（入力は{len(text)}文字）。")
            return ""
        return text

    def check(self, header: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as error:
            self.error(header, error.message)
            return _INVALID


# ---------------------------------------------------------------- checking every row

@dataclass
class _Plan:
    members: list = field(default_factory=list)  # (code, values)
    vehicles: list = field(default_factory=list)  # (plate, member code, values)
    cards: list = field(default_factory=list)  # (row, values) of new cards
    known_cards: int = 0
    existing_members: dict = field(default_factory=dict)
    existing_vehicles: dict = field(default_factory=dict)


def _chunks(items, size=500):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _shown(number: str, kind) -> str:
    """Corporate numbers in their printed grouping; credit card numbers as the digits."""
    return format_card_number(number) if kind == CORPORATE else number


def _plate_key(plate: Plate) -> tuple:
    return (plate.region, plate.class_number, plate.kana, plate.serial)


class _Checker:
    def __init__(self, headers: dict, progress=None):
        self.headers = headers
        self.errors: list[CellError] = []
        self.plan = _Plan()
        self.progress = progress or (lambda **fields: None)

    def rows(self, sheets, sheet):
        return [_Row(sheet, row, self.headers.get(sheet, set()), self.errors) for row in sheets.get(sheet, [])]

    def check(self, sheets) -> _Plan:
        members, vehicles, cards = (self.rows(sheets, s) for s in (MEMBERS, VEHICLES, CARDS))
        self._load_members(members + vehicles + cards)
        self.progress(rows=0, sheets_done=0, sheets_total=3)
        file_members = self._check_members(members)
        self.progress(rows=len(members), sheets_done=1, sheets_total=3)
        file_vehicles = self._check_vehicles(vehicles, file_members)
        self.progress(rows=len(members) + len(vehicles), sheets_done=2, sheets_total=3)
        self._check_cards(cards, file_members, file_vehicles)
        self.progress(rows=len(members) + len(vehicles) + len(cards), sheets_done=3, sheets_total=3)
        if self.errors:
            order = {MEMBERS: 0, VEHICLES: 1, CARDS: 2}
            self.errors.sort(key=lambda e: (order.get(e.sheet, -1), e.row or 0))
            raise MasterImportFailed(self.errors)
        return self.plan

    # -- lookups

    def _load_members(self, rows):
        codes = {cell_text(r.raw("組合員コード")) for r in rows} - {""}
        for chunk in _chunks(codes):
            for member in db.session.scalars(select(Member).where(Member.code.in_(chunk))):
                self.plan.existing_members[member.code] = member
        self.agencies = {a.code: a for a in db.session.scalars(select(Agency))}

    def _member_known(self, row: _Row, file_members: dict) -> str | None:
        code = row.text("組合員コード", required=True)
        if code and code not in file_members and code not in self.plan.existing_members:
            row.error("組合員コード", f"組合員コード「{code}」は組合員シートにも登録済みの組合員にもありません。")
            return None
        return code or None

    def _load_vehicles(self, plates):
        serials = {p.serial for p in plates}
        found = {}
        for chunk in _chunks(serials):
            query = select(Vehicle).where(Vehicle.plate_serial.in_(chunk)).options(selectinload(Vehicle.member))
            for vehicle in db.session.scalars(query):
                found[_plate_key(vehicle.plate)] = vehicle
        self.plan.existing_vehicles = found

    # -- 組合員

    def _check_members(self, rows) -> dict:
        seen: dict[str, int] = {}
        for row in rows:
            code = row.text("組合員コード", required=True)
            if code in seen:
                row.error("組合員コード", f"組合員コード「{code}」が{seen[code]}行目と重複しています。")
            elif code:
                seen[code] = row.number
            values = {"name": row.text("組合員名", required=True)}
            kana = row.check("組合員名カナ", normalize_kana, row.text("組合員名カナ"), "kana", "組合員名カナ")
            if kana == "":
                row.error("組合員名カナ", "入力してください。")
            values["kana"] = kana
            for header, attr in (("郵便番号", "postal_code"), ("住所", "address"), ("電話番号", "phone"),
                                 ("メールアドレス", "email"), ("担当者", "contact_person")):
                if row.has(header):
                    text = row.text(header)
                    if attr in ("postal_code", "phone", "email"):
                        text = unicodedata.normalize("NFKC", text)
                    values[attr] = text or None
            if row.has("代理店コード"):
                agency_code = row.text("代理店コード")
                values["agency"] = self.agencies.get(agency_code) if agency_code else None
                if agency_code and values["agency"] is None:
                    row.error("代理店コード", f"代理店コード「{agency_code}」は登録されていません（代理店の画面で先に登録してください）。")
            payment = DIRECT_DEBIT
            if row.has("支払方法") and row.text("支払方法"):
                payment = row.check("支払方法", _choice, row.raw("支払方法"), _PAYMENT,
                                    f"支払方法「{row.text('支払方法')}」は 口座振替 か 振込 です。")
            if row.has("支払方法") or code not in self.plan.existing_members:
                values["payment_method"] = payment
            self._check_bank(row, values, code, payment)
            if row.has("状態"):
                status = MEMBER_ACTIVE
                if row.text("状態"):
                    status = row.check("状態", _choice, row.raw("状態"), _MEMBER_STATUS,
                                       f"状態「{row.text('状態')}」は 在籍 か 脱退 です。")
                values["status"] = status
            if row.has("脱退日"):
                values["withdrawn_on"] = row.check("脱退日", parse_date, row.raw("脱退日"))
            if not row.failed:
                self.plan.members.append((code, values))
        return seen

    def _check_bank(self, row: _Row, values: dict, code: str, payment):
        existing = self.plan.existing_members.get(code)
        if any(row.has(h) for h in _BANK_HEADERS):
            cells = {h: row.text(h) if row.has(h) else "" for h in _BANK_HEADERS}
            if not any(cells.values()):
                values.update(bank_code=None, bank_name=None, branch_code=None, branch_name=None,
                              account_type=None, account_number=None, account_holder_kana=None)
                has_account = False
            elif not cells["預金種目"]:
                row.error("預金種目", "預金種目を入力してください（普通・当座・貯蓄・その他）。")
                return
            else:
                try:
                    account = make_bank_account(*cells.values())
                except DomainError as error:
                    row.error(_BANK_FIELDS.get(error.field, "銀行コード"), error.message)
                    return
                values.update(bank_code=account.bank_code, bank_name=account.bank_name,
                              branch_code=account.branch_code, branch_name=account.branch_name,
                              account_type=account.account_type, account_number=account.account_number,
                              account_holder_kana=account.holder_kana)
                has_account = True
        else:
            has_account = bool(existing is not None and existing.has_bank_account)
        if payment == DIRECT_DEBIT and not has_account:
            row.error("銀行コード", "支払方法が口座振替の組合員には口座（銀行コード・支店コード・預金種目・口座番号・"
                                  "口座名義カナ）が必要です。")

    # -- 車両

    def _check_vehicles(self, rows, file_members) -> dict:
        seen: dict[tuple, tuple] = {}
        self._pending_plates = []
        for row in rows:
            plate_text = row.text("車両番号", required=True)
            plate = row.check("車両番号", parse_plate, plate_text) if plate_text else _INVALID
            code = self._member_known(row, file_members)
            class_text = row.text("車種", required=True)
            values = {"vehicle_class": row.check("車種", parse_vehicle_class, class_text) if class_text else _INVALID}
            for header, attr in (("ETC2.0", "is_etc2"), ("事業用", "is_commercial")):
                if row.has(header):
                    values[attr] = row.check(header, parse_flag, row.raw(header))
            if row.has("備考"):
                values["note"] = row.text("備考") or None
            if isinstance(plate, Plate):
                self._pending_plates.append(plate)
                key = _plate_key(plate)
                if key in seen:
                    row.error("車両番号", f"車両番号「{plate}」が{seen[key][0]}行目と重複しています。")
                else:
                    seen[key] = (row.number, code, row)
            if not row.failed:
                self.plan.vehicles.append((plate, code, values))
        return seen

    # -- カード

    def _check_cards(self, rows, file_members, file_vehicles):
        parsed = []
        for row in rows:
            plate_text = row.text("車両番号") if row.has("車両番号") else ""
            plate = row.check("車両番号", parse_plate, plate_text) if plate_text else None
            parsed.append((row, plate))
        self._load_vehicles(self._pending_plates + [p for _, p in parsed if isinstance(p, Plate)])
        for plate, code, _ in list(self.plan.vehicles):
            self._vehicle_owner_agrees(plate, code, file_vehicles)
        numbers = {}
        for row, _ in parsed:
            raw = row.raw("カード番号")
            text = row.text("カード番号", required=True)
            if isinstance(raw, (int, float)) and not isinstance(raw, bool) and len(text) > 15:
                row.error("カード番号", "カード番号が数値のセルに入っています（Excelは15桁を超える数値の末尾を0にします）。"
                                    "セルの書式を文字列にして入力し直してください。")
                text = ""
            kind_text = row.text("カード種別", required=True)
            kind = row.check("カード種別", _choice, kind_text, _KINDS,
                             f"カード種別「{kind_text}」は コーポレート か クレジット です。") if kind_text else _INVALID
            numbers[row.number] = row.check("カード番号", normalize_card_number, text,
                                            kind if kind in (CORPORATE, CREDIT) else CREDIT) if text else _INVALID
            row.kind = kind
        existing = {}
        wanted = {n for n in numbers.values() if isinstance(n, str)}
        for chunk in _chunks(wanted):
            for card in db.session.scalars(select(Card).where(Card.number.in_(chunk))
                                           .options(selectinload(Card.member), selectinload(Card.vehicle))):
                existing[card.number] = card
        vehicle_ids = [v.id for v in self.plan.existing_vehicles.values()]
        active_corporate = {}
        for chunk in _chunks(vehicle_ids):
            for card in db.session.scalars(select(Card).where(Card.vehicle_id.in_(chunk), Card.kind == CORPORATE,
                                                              Card.status == ACTIVE)):
                active_corporate[card.vehicle_id] = card
        seen_numbers, corporate_on = {}, {}
        for row, plate in parsed:
            number, kind = numbers[row.number], row.kind
            code = self._member_known(row, file_members)
            if isinstance(number, str):
                if number in seen_numbers:
                    row.error("カード番号", f"カード番号 {_shown(number, kind)} が{seen_numbers[number]}行目と"
                                        "重複しています。")
                else:
                    seen_numbers[number] = row.number
            vehicle = self._card_vehicle(row, plate, kind, code, file_vehicles)
            values = self._card_values(row, kind)
            if row.failed or not isinstance(number, str):
                continue
            card = existing.get(number)
            if card is not None:
                self._known_card_agrees(row, card, kind, code, vehicle)
                if not row.failed:
                    self.plan.known_cards += 1
                continue
            if kind == CORPORATE and plate is not None:
                key = _plate_key(plate)
                if key in corporate_on:
                    row.error("車両番号", f"車両「{plate}」には{corporate_on[key]}行目のコーポレートカードがあります"
                                      "（1台に1枚）。")
                    continue
                corporate_on[key] = row.number
                db_vehicle = self.plan.existing_vehicles.get(key)
                other = active_corporate.get(db_vehicle.id) if db_vehicle is not None else None
                if other is not None:
                    row.error("車両番号", f"車両「{plate}」には有効なコーポレートカード {other.number_text()} が登録済みです"
                                      "（1台に1枚。入替はカード異動で登録してください）。")
                    continue
            values.update(number=number, kind=kind, member_code=code, plate=plate)
            self.plan.cards.append((row.number, values))

    def _vehicle_owner_agrees(self, plate, code, file_vehicles):
        vehicle = self.plan.existing_vehicles.get(_plate_key(plate))
        if vehicle is not None and code and vehicle.member.code != code:
            row = file_vehicles[_plate_key(plate)][2]
            row.error("車両番号", f"車両「{plate}」は既に組合員「{vehicle.member.code}」の車両として登録されています。")

    def _card_vehicle(self, row, plate, kind, code, file_vehicles):
        if plate is None:
            if kind == CORPORATE:
                row.error("車両番号", "コーポレートカードには車両番号が必要です（1台に1枚）。")
            return None
        if plate is _INVALID:
            return None
        key = _plate_key(plate)
        owner = None
        if key in file_vehicles:
            owner = file_vehicles[key][1]
        elif key in self.plan.existing_vehicles:
            owner = self.plan.existing_vehicles[key].member.code
        else:
            row.error("車両番号", f"車両「{plate}」は車両シートにも登録済みの車両にもありません。")
            return None
        if code and owner and owner != code:
            row.error("車両番号", f"車両「{plate}」は組合員「{owner}」の車両です（カードの組合員は「{code}」）。")
        return plate

    def _card_values(self, row, kind) -> dict:
        values = {}
        issuer = row.text("発行元") if row.has("発行元") else ""
        if not issuer:
            if kind == CREDIT:
                row.error("発行元", "クレジットカードは発行元（カード会社名）を入力してください。")
            issuer = "NEXCO"
        values["issuer"] = issuer
        valid_from = row.check("有効開始日", parse_date, row.raw("有効開始日")) if row.has("有効開始日") else None
        valid_until = (row.check("有効期限", parse_date, row.raw("有効期限"), month_end=True)
                       if row.has("有効期限") else None)
        if isinstance(valid_from, dt.date) and isinstance(valid_until, dt.date) and valid_until < valid_from:
            row.error("有効期限", "有効期限が有効開始日より前です。")
        values.update(valid_from=valid_from, valid_until=valid_until,
                      note=(row.text("備考") or None) if row.has("備考") else None)
        return values

    def _known_card_agrees(self, row, card, kind, code, plate):
        number = _shown(card.number, card.kind)
        if code and card.member.code != code:
            row.error("カード番号", f"カード番号 {number} は既に組合員「{card.member.code}」のカードとして登録されています。")
        elif kind != card.kind:
            row.error("カード種別", f"カード番号 {number} は{CARD_KINDS[card.kind]}として登録済みです。")
        elif card.kind == CORPORATE and plate is not None and (
                card.vehicle is None or _plate_key(card.vehicle.plate) != _plate_key(plate)):
            row.error("車両番号", f"カード番号 {number} は車両「{card.vehicle}」で登録済みです。"
                              "車両の変更はカード異動（車両入替）で登録してください。")


# ---------------------------------------------------------------- saving

@dataclass
class ImportSummary:
    created: dict = field(default_factory=lambda: {MEMBERS: 0, VEHICLES: 0, CARDS: 0})
    updated: dict = field(default_factory=lambda: {MEMBERS: 0, VEHICLES: 0, CARDS: 0})
    unchanged: dict = field(default_factory=lambda: {MEMBERS: 0, VEHICLES: 0, CARDS: 0})

    def total(self, sheet) -> int:
        return self.created[sheet] + self.updated[sheet] + self.unchanged[sheet]

    def __str__(self) -> str:
        parts = "・".join(f"{sheet} {self.total(sheet)}件" for sheet in (MEMBERS, VEHICLES, CARDS))
        created, updated, unchanged = (sum(d.values()) for d in (self.created, self.updated, self.unchanged))
        if updated or unchanged:
            return f"{parts}を登録しました（新規 {created}件・更新 {updated}件・変更なし {unchanged}件）。"
        return f"{parts}を登録しました。"


def _assign(obj, values: dict) -> bool:
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def _save(plan: _Plan) -> ImportSummary:
    session = db.session
    summary = ImportSummary()
    members = dict(plan.existing_members)
    vehicles = dict(plan.existing_vehicles)
    current = None
    try:
        for code, values in plan.members:
            member = members.get(code)
            if member is None:
                member = members[code] = Member(code=code, **values)
                session.add(member)
                summary.created[MEMBERS] += 1
            else:
                _assign(member, values)
                _count(summary, MEMBERS, session, member)
        session.flush()
        for plate, code, values in plan.vehicles:
            key = _plate_key(plate)
            vehicle = vehicles.get(key)
            if vehicle is None:
                vehicle = vehicles[key] = Vehicle(member=members[code], plate_region=plate.region,
                                                  plate_class_number=plate.class_number, plate_kana=plate.kana,
                                                  plate_serial=plate.serial, **values)
                session.add(vehicle)
                summary.created[VEHICLES] += 1
            else:
                _assign(vehicle, values)
                _count(summary, VEHICLES, session, vehicle)
        session.flush()
        summary.unchanged[CARDS] = plan.known_cards
        for current, values in plan.cards:
            plate = values.pop("plate")
            card = Card(member=members[values.pop("member_code")],
                        vehicle=vehicles[_plate_key(plate)] if plate is not None else None, **values)
            event = prepare_new_card(session, card)
            event.note = EVENT_NOTE
            session.flush()  # the next card of this member is then an 追加発行, not a 新規発行
            summary.created[CARDS] += 1
        session.commit()
        if plan.cards:
            from .usage_rematch import rematch_unregistered

            rematch_unregistered()  # usage already imported for these numbers is linked to them now
    except DomainError as error:
        session.rollback()
        raise MasterImportFailed([CellError(CARDS, current, _CARD_FIELDS.get(error.field, "カード番号"),
                                            error.message)]) from None
    except IntegrityError:
        session.rollback()
        raise MasterImportFailed([CellError(None, None, None, "取込中に同じデータが別の操作で登録されました。"
                                                              "もう一度取り込んでください（何も登録していません）。")]) from None
    except BaseException:
        session.rollback()
        raise
    return summary


def _count(summary: ImportSummary, sheet: str, session, obj):
    if session.is_modified(obj, include_collections=False):
        summary.updated[sheet] += 1
    else:
        summary.unchanged[sheet] += 1
