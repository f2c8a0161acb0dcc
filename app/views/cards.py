
from flask import flash, request, url_for
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField, StringField

from app.domain.billable_events import REGISTRATION_ONLY_NOTE
from app.domain.card_lifecycle import ADD, EVENT_KINDS, ISSUE, events_allowed_for
from app.domain.clock import today_jst
from app.domain.card_number import CARD_KINDS, normalize_card_number
from app.extensions import db
from app.labels import actor_label, with_member
from app.models import Card, CardEvent, Vehicle
from app.models.mixins import now_jst
from app.services.cards import apply_card_event, check_card_fields, prepare_new_card
from app.services.nexco_forms import event_forms
from app.services.usage_rematch import first_usage_day, suggested_vehicle

from .base import TollbookModelView
from .nexco_forms import forms_download
from .search import card_quick_search
from .validators import Normalize, Required, field_value
from .fields import JapaneseDateField
from .return_to import with_next

CARD_LABELS = {
    "number": "カード番号", "number_text": "カード番号", "kind": "カード種別", "kind_name": "カード種別",
    "issuer": "発行元", "member": with_member("{m}"), "vehicle": "車両", "valid_from": "有効開始日",
    "valid_until": "有効期限", "status": "状態", "status_name": "状態", "status_changed_on": "状態変更日",
    "replaces_card": "旧カード", "note": "備考", "events": "異動履歴",
}


FEE, REGISTRATION_ONLY = "fee", "registration_only"
REGISTRATIONS = {FEE: "新規発行・追加発行（手数料を請求）", REGISTRATION_ONLY: "移行・登録のみ（手数料なし）"}


def _card_number(value, form):
    return normalize_card_number(value, field_value(form, "kind") or "corporate")


class CardView(TollbookModelView):
    datamodel = SQLAInterface(Card)
    quick_search = staticmethod(card_quick_search)
    quick_search_placeholder = with_member("カード番号・{m}（コード・名前・フリガナ）・ナンバーで検索")
    list_title = "カード一覧"
    show_title = "カードの詳細"
    add_title = "カードの登録（新規・追加発行）"
    edit_title = "カードの編集"
    export_title = "カード一覧"
    label_columns = CARD_LABELS
    list_columns = ["number_text", "kind_name", "member", "vehicle", "valid_until", "status_name"]
    search_columns = ["number", "kind", "member", "vehicle", "status", "valid_until", "issuer"]
    show_columns = ["number_text", "kind_name", "issuer", "member", "vehicle", "valid_from", "valid_until",
                    "status_name", "status_changed_on", "replaces_card", "note"]
    add_columns = ["number", "kind", "issuer", "member", "vehicle", "valid_from", "valid_until", "registration", "note"]
    # Status, number, member and vehicle change only through card events (カード異動).
    edit_columns = ["issuer", "valid_from", "valid_until", "note"]
    export_columns = ["number", "kind_name", "issuer", "member.code", "member.name", "vehicle",
                      "valid_from", "valid_until", "status_name", "status_changed_on", "note"]
    description_columns = {
        "number": "16桁（ハイフン・空白は自動で除きます）",
        "valid_until": "コーポレートカードは空欄なら有効開始日から5年後の月末",
        "vehicle": "コーポレートカードは1台に1枚、車両が必須です",
    }
    validators_columns = {"number": [Required(), Normalize(_card_number)], "member": [Required()]}
    add_form_extra_fields = {
        "kind": SelectField("カード種別", choices=list(CARD_KINDS.items())),
        "issuer": StringField("発行元", description="コーポレートカードは NEXCO、クレジットカードはカード会社名"),
        "registration": SelectField(
            "登録の種類", choices=list(REGISTRATIONS.items()), default=FEE,
            description="新しく発行されたカードなら手数料を請求します。前から使っているカード（未登録カードとして走行明細が"
                        "あるもの、他のシステムからの移行）なら「移行・登録のみ」で手数料を請求しません。"),
    }
    related_views = []
    base_order = ("number", "asc")
    show_template = "tollbook/card_show.html"
    member_scoped_pickers = {"vehicle": Vehicle}
    printed_number_fields = ("number",)

    def record_buttons(self, item):
        """編集, and one button per card event the card's state allows (紛失・盗難, 再発行, 車両入替, 解約, 更新),
        each opening the event form for this card."""
        buttons = super().record_buttons(item)
        if self.appbuilder.sm.has_access("can_add", "CardEventView"):
            here = request.full_path
            for kind in events_allowed_for(item.status):
                buttons.append((EVENT_KINDS[kind], with_next(url_for("CardEventView.add", _flt_0_card=item.id, kind=kind),
                                                             here), EVENT_ICONS.get(kind, "fa-exchange")))
        return buttons

    def pre_add(self, item):
        event = prepare_new_card(db.session, item)
        if request.form.get("registration") == REGISTRATION_ONLY:
            event.note = REGISTRATION_ONLY_NOTE  # recorded, never billed (app/domain/billable_events.py)

    def pre_update(self, item):
        check_card_fields(db.session, item)

    # 未登録カード (app/views/usage.py): 'カードを登録' opens this form as /cardview/add?number=…
    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        if request.method == "GET" and request.args.get("number") and not form.number.data:
            form.number.data = request.args["number"]
        if request.method == "GET":
            # Which event is it? A card already used before today (its usage rows say so) was not issued
            # today: the office most likely registers a card it had; no fee unless staff say otherwise.
            first = first_usage_day(request.args.get("number") or "")
            form.registration.data = REGISTRATION_ONLY if first is not None and first < today_jst() else FEE
            # 未登録カード: the rows' plate names a vehicle: its member is the likely owner (said, not hidden)
            vehicle = suggested_vehicle(request.args.get("number") or "") if request.args.get("number") else None
            if vehicle is not None and not form.member.data:
                form.member.data, form.vehicle.data = vehicle.member, vehicle
                flash(f"走行明細の車両番号 {vehicle.plate_text()} から、{vehicle.member.code} {vehicle.member.name} の"
                      "車両と推定して選んであります。違うときは選び直してください。", "info")
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def post_add(self, item):
        super().post_add(item)
        link_unregistered_usage(item)


def _new_card_number(value, form):
    """Digits only before the 16-character length check: people type the number as printed, with hyphens."""
    card = field_value(form, "card")
    return normalize_card_number(value, getattr(card, "kind", None) or "credit")


EVENT_CHOICES = [(k, v) for k, v in EVENT_KINDS.items() if k not in (ISSUE, ADD)]
EVENT_ICONS = {"loss": "fa-exclamation-triangle", "reissue": "fa-refresh", "vehicle_change": "fa-car",
               "cancel": "fa-ban", "renewal": "fa-calendar-check-o"}


class CardEventView(TollbookModelView):
    datamodel = SQLAInterface(CardEvent)
    list_title = "カード異動一覧"
    show_title = "カード異動の詳細"
    add_title = "カード異動の登録"
    export_title = "カード異動一覧"
    base_permissions = ["can_list", "can_show", "can_add", "can_export"]  # history is never edited
    label_columns = {
        "card": "カード", "kind": "異動区分", "kind_name": "異動区分", "occurred_on": "異動日",
        "member": with_member("{m}"), "new_card_number": "新カード番号", "new_card": "新カード",
        "old_vehicle": "入替前の車両", "new_vehicle": "入替後の車両", "note": "備考", "entered_by": "登録者",
        "entered_at": "登録日時", "fee_billed": "手数料", "fee_status": "手数料", "billed_month": "請求月",
    }
    list_columns = ["occurred_on", "kind_name", "card", "member", "new_card", "fee_status", "entered_by"]
    search_columns = ["card", "member", "kind", "occurred_on", "fee_billed", "entered_by"]
    show_columns = ["occurred_on", "kind_name", "card", "member", "new_card", "old_vehicle", "new_vehicle",
                    "note", "fee_status", "entered_by", "entered_at"]
    add_columns = ["card", "kind", "occurred_on", "new_card_number", "new_vehicle", "note"]
    export_columns = ["occurred_on", "kind_name", "card", "member.code", "member.name", "new_card",
                      "old_vehicle", "new_vehicle", "note", "fee_status", "entered_by", "entered_at"]
    description_columns = {
        "occurred_on": "紛失・盗難は紛失した日",
        "new_card_number": "再発行・更新・車両入替で新しい番号のカードが届いたとき",
        "new_vehicle": "車両入替のときのみ",
    }
    add_form_extra_fields = {
        "kind": SelectField("異動区分", choices=EVENT_CHOICES),
        "occurred_on": JapaneseDateField("異動日", default=lambda: now_jst().date(), validators=[Required()]),
    }
    validators_columns = {"card": [Required()], "new_card_number": [Normalize(_new_card_number)]}
    base_order = ("occurred_on", "desc")
    member_scoped_pickers = {"card": Card, "new_vehicle": Vehicle}
    formatters_columns = {"entered_by": actor_label}
    printed_number_fields = ("new_card_number",)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        # The card page's buttons (紛失・盗難, 再発行 …) open this form with ?kind=…
        if request.method == "GET" and request.args.get("kind") in dict(EVENT_CHOICES):
            form.kind.data = request.args["kind"]
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def pre_add(self, item):
        apply_card_event(db.session, item)

    @action("print_forms", "申請書を印刷（PDF）", confirmation=None, icon="fa-print", multiple=True, single=True)
    def print_forms(self, items):
        """NEXCO 申請書 of the ticked events (or of the one shown), one page each (app/views/nexco_forms.py)."""
        items = [i for i in (items if isinstance(items, list) else [items]) if i is not None]
        return forms_download(event_forms(i.id for i in items), url_for("CardEventView.list"))

    def post_add(self, item):  # a reissued / renewed card may already have usage rows (未登録カード)
        super().post_add(item)
        if item.new_card is not None:
            link_unregistered_usage(item.new_card)


def link_unregistered_usage(card):
    """Usage rows imported before the card was registered get the card (open months only)."""
    from app.services.usage_rematch import rematch_unregistered

    linked = rematch_unregistered(card.number)
    if linked:
        flash(f"未登録カードとして取り込まれていた走行明細 {linked:,}件を、このカードに結び付けました。", "info")


CardView.related_views = [CardEventView]
