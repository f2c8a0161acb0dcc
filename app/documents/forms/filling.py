"""Event → the filled 申請内容 sheet: every value as the text printed, in the order of the official
form's items (kinds.py names the form each sheet follows). Pure: plain values in, plain values out.

Items the database does not hold (NEXCO's 契約者番号, the 車載器管理番号, the police report number,
the seal) are printed as empty boxes to fill by hand, never guessed.
"""
import datetime as dt
from dataclasses import dataclass

from app.domain.card_lifecycle import ISSUE
from app.domain.card_number import format_card_number
from app.domain.card_renewal import expiry_before_renewal, renewed_valid_until
from app.domain.plate import format_serial
from app.domain.vehicle_class import VEHICLE_CLASSES
from app.domain.wareki import SEIREKI, format_date

from .kinds import (APPLICATION, EXCHANGE_APPLICATION, FORM_KINDS, LOSS_REPORT, REISSUE_APPLICATION, RETURN_REPORT,
                    VEHICLE_CHANGE_REPORT, FormKind, form_for_event)
from .sources import CardInfo, EventSource, MemberInfo, OperatorInfo, RenewalSource, VehicleInfo

SUBMIT_TO = "東・中・西日本高速道路株式会社（契約の支社）"
NOT_OFFICIAL = "NEXCOの公式様式ではありません。記載事項を公式様式に転記するか、添えて提出してください。"


@dataclass(frozen=True)
class Row:
    label: str
    value: str = ""
    by_hand: bool = False  # an empty box: the database does not hold this item
    seal: bool = False  # a box large enough for a seal (押印)


@dataclass(frozen=True)
class Section:
    heading: str
    rows: tuple[Row, ...]

    def value(self, label: str) -> str:
        return next(row.value for row in self.rows if row.label == label)


@dataclass(frozen=True)
class PlateBox:
    """車両番号 in its four parts, as the forms ask for it, plus 車種区分."""

    heading: str
    region: str  # 地名
    class_number: str  # 分類番号
    kana: str  # ひらがな
    serial: str  # 一連番号, printed as on the plate: 12-34, ・123
    vehicle_class: str  # 2（大型車）
    usage: str  # 事業用 (緑・黒ナンバー) / 自家用
    etc2: str  # ETC2.0 車載器: あり / なし


@dataclass(frozen=True)
class FilledForm:
    kind: FormKind
    reference: str  # which record it was filled from: 異動 No.12 / カード更新
    created_on: dt.date
    created_text: str  # 作成日 as the operator prints dates
    contract_holder: Section  # 契約者 (the operator)
    user: Section  # 使用者 (the member)
    card: Section
    vehicles: tuple[PlateBox, ...]
    details: Section  # 申請内容: the event's own items
    attachments: tuple[str, ...]
    remarks: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.kind.title


@dataclass(frozen=True)
class Dates:
    """Dates as the operator prints them (運営者設定: 西暦 2026年9月10日 or 和暦 令和8年9月10日)."""

    style: str = SEIREKI

    def day(self, day: dt.date | None) -> str:
        return format_date(day, self.style)

    def expiry(self, day: dt.date | None) -> str:
        """The expiry as a date and as printed on the card (YY年MM月 in 西暦, usable to that month's end)."""
        return f"{self.day(day)}（券面 {day:%y}年{day:%m}月）" if day else ""


def plate_box(heading: str, vehicle: VehicleInfo) -> PlateBox:
    plate = vehicle.plate
    name = VEHICLE_CLASSES.get(vehicle.vehicle_class, "")
    return PlateBox(heading, plate.region, plate.class_number, plate.kana, format_serial(plate.serial),
                    f"{vehicle.vehicle_class}（{name}）" if name else str(vehicle.vehicle_class),
                    "事業用" if vehicle.is_commercial else "自家用",
                    "あり" if vehicle.is_etc2 else "なし")


def contract_holder_section(operator: OperatorInfo) -> Section:
    rows = [Row("契約者名", operator.name),
            Row("住所", _address(operator.postal_code, operator.address)),
            Row("電話番号", operator.phone or ""),
            Row("契約者番号（お客様番号）", by_hand=True)]
    if operator.registration_number:
        rows.append(Row("登録番号（適格請求書発行事業者）", operator.registration_number))
    rows.append(Row("届出印（NEXCOに届け出た印）", by_hand=True, seal=True))
    return Section("契約者", tuple(rows))


def user_section(member: MemberInfo, member_term: str) -> Section:
    return Section(f"使用者（{member_term}）", (
        Row(f"{member_term}コード", member.code),
        Row("名称", member.name),
        Row("フリガナ", member.kana or ""),
        Row("住所", _address(member.postal_code, member.address)),
        Row("電話番号", member.phone or ""),
        Row("担当者", member.contact_person or ""),
    ))


def card_section(card: CardInfo, dates: Dates) -> Section:
    return Section("ETCコーポレートカード", (
        Row("カード番号", format_card_number(card.number)),
        Row("有効期限", dates.expiry(card.valid_until)),
        Row("有効開始日", dates.day(card.valid_from)),
    ))


def fill_event_form(source: EventSource, operator: OperatorInfo, created_on: dt.date) -> FilledForm | None:
    """The filled sheet for one card event, or None when the event needs no NEXCO form
    (kinds.form_for_event says why)."""
    choice = form_for_event(source.kind, source.card.kind, source.note)
    if choice.kind is None:
        return None
    dates = Dates(operator.date_style)
    details, vehicles, attachments, remarks = _FILLERS[choice.kind.code](source, dates)
    return FilledForm(
        kind=choice.kind, reference=f"カード異動 No.{source.event_id}", created_on=created_on,
        created_text=dates.day(created_on), contract_holder=contract_holder_section(operator),
        user=user_section(source.member, operator.member_term), card=card_section(source.card, dates), vehicles=vehicles, details=Section("申請内容", details),
        attachments=attachments, remarks=remarks + (NOT_OFFICIAL,))


def fill_renewal_form(source: RenewalSource, operator: OperatorInfo, created_on: dt.date) -> FilledForm:
    """The exchange application for a card on the renewal list (no event yet: the new card number
    is not known until NEXCO sends it)."""
    until, dates = source.card.valid_until, Dates(operator.date_style)
    details = (
        Row("申込区分", "有効期限到来による交換（5年更新）"),
        Row("現在の有効期限", dates.expiry(until)),
        Row("更新後の有効期限", dates.expiry(renewed_valid_until(until)) if until else ""),
        Row("新カード番号", "（NEXCOから新カードが届いてから記録）"),
    )
    vehicles = (plate_box("登録車両", source.vehicle),) if source.vehicle else ()
    return FilledForm(
        kind=FORM_KINDS[EXCHANGE_APPLICATION], reference="カード更新（更新予定カード一覧）", created_on=created_on,
        created_text=dates.day(created_on), contract_holder=contract_holder_section(operator),
        user=user_section(source.member, operator.member_term), card=card_section(source.card, dates), vehicles=vehicles, details=Section("申請内容", details),
        attachments=(), remarks=(_EXCHANGE_REMARK, NOT_OFFICIAL))


# ── one filler per form: (source, dates) → (details, vehicles, attachments, remarks) ──────────────────────────────

_COPIES = ("自動車検査証（写）（電子車検証の場合は自動車検査証記録事項（写））", "車載器セットアップ証明書（写）")


def _application(source: EventSource, dates: Dates):
    details = (
        Row("申込区分", "新規発行（この使用者の最初のカード）" if source.kind == ISSUE else "追加発行"),
        Row("発行日", dates.day(source.occurred_on)),
        Row("車載器管理番号（19桁）", by_hand=True),
    )
    return details, _vehicles("登録車両", source.vehicle), _COPIES, (
        "カードは券面の車両番号の車両でのみ使えます（車両不一致は割引の対象外）。",)


def _loss(source: EventSource, dates: Dates):
    details = (
        Row("紛失・盗難日", dates.day(source.occurred_on)),
        Row("区分（○で囲む）", "紛失　・　盗難"),
        Row("紛失・盗難の場所と状況", source.note or "", by_hand=not source.note),
        Row("届出をした警察署", by_hand=True),
        Row("受理番号", by_hand=True),
    )
    return details, _vehicles("登録車両", source.vehicle), (), (
        "まずFAXで届け出て、原本を郵送してください（FAXを受け付けない支社もあります）。",
        "紛失・盗難1件ごと、使用者ごとに1枚です。あとで見つかったカードは追記せず、別の届にします。",
        "見つかった場合は発見届を出してください。")


def _reissue(source: EventSource, dates: Dates):
    after_loss = source.loss_before is not None
    reason = (f"紛失・盗難（{dates.day(source.loss_before)}に紛失届）" if after_loss
              else "破損・磁気不良・ICチップ不良等")
    details = (
        Row("再発行日", dates.day(source.occurred_on)),
        Row("再発行の理由", reason),
        *_new_card_rows(source.new_card, dates),
    )
    attachments = () if after_loss else ("使えなくなったカード（ICチップに鋏を入れて同封）",)
    return details, _vehicles("登録車両", source.vehicle), attachments, (
        "FAXで先に申し込むと、支社によっては翌営業日に仮カードが届きます。",)


def _vehicle_change(source: EventSource, dates: Dates):
    details = (
        Row("入替日", dates.day(source.occurred_on)),
        *_new_card_rows(source.new_card, dates),
        Row("入替後の車載器管理番号（19桁）", by_hand=True),
    )
    vehicles = _vehicles("入替前の車両", source.vehicle) + _vehicles("入替後の車両", source.new_vehicle)
    attachments = ("入替後の車両の" + _COPIES[0], "入替後の車両の" + _COPIES[1],
                   "入替前のカード（新カードが届いたら返却）")
    return details, vehicles, attachments, (
        "新カードが届くまでは、入替前のカードを入替後の車両で使えます。",
        "届出がないと車両不一致となり、割引が受けられません。")


def _return(source: EventSource, dates: Dates):
    lost = source.loss_before is not None
    details = (
        Row("解約日（返却日）", dates.day(source.occurred_on)),
        Row("返却理由", "減車（車両の売却・廃車等によるカードの解約）"),
        Row("返却するカード", f"なし（{dates.day(source.loss_before)}に紛失届済み）" if lost
            else format_card_number(source.card.number)),
    )
    attachments = () if lost else ("返却するカード（届と同封して郵送）",)
    return details, _vehicles("登録車両", source.vehicle), attachments, ()


def _exchange(source: EventSource, dates: Dates):
    new = source.new_card
    if new is not None:  # a new card number was entered: the old card keeps its old expiry
        before, after = source.card.valid_until, new.valid_until
    else:  # renewed in place: the card's expiry already moved 5 years on
        after = source.card.valid_until
        before = expiry_before_renewal(after) if after else None
    details = (
        Row("更新日", dates.day(source.occurred_on)),
        Row("申込区分", "有効期限到来による交換（5年更新）"),
        Row("旧有効期限", dates.expiry(before)),
        Row("新有効期限", dates.expiry(after)),
        Row("新カード番号", format_card_number(new.number) if new else "（番号の変更なし）"),
    )
    return details, _vehicles("登録車両", source.vehicle), (), (_EXCHANGE_REMARK,)


_EXCHANGE_REMARK = "有効期限の月末を過ぎたカードはETCレーンで使えません。新カードに差し替え、旧カードを返却してください。"

_FILLERS = {
    APPLICATION: _application, LOSS_REPORT: _loss, REISSUE_APPLICATION: _reissue,
    VEHICLE_CHANGE_REPORT: _vehicle_change, RETURN_REPORT: _return, EXCHANGE_APPLICATION: _exchange,
}


def _new_card_rows(new_card: CardInfo | None, dates: Dates) -> tuple[Row, ...]:
    if new_card is None:
        return (Row("新カード番号", "（新カード到着前）"),)
    return (Row("新カード番号", format_card_number(new_card.number)),
            Row("新カードの有効期限", dates.expiry(new_card.valid_until)))


def _vehicles(heading: str, vehicle: VehicleInfo | None) -> tuple[PlateBox, ...]:
    return (plate_box(heading, vehicle),) if vehicle is not None else ()


def _address(postal_code: str | None, address: str | None) -> str:
    return " ".join(part for part in (f"〒{postal_code}" if postal_code else "", address or "") if part)
