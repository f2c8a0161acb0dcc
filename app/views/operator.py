from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField

from app.domain.kana import normalize_kana
from app.domain.registration_number import normalize_registration_number
from app.models import OperatorSettings
from app.models.operator import OPERATOR_TYPES

from .base import TollbookModelView
from .members import ACCOUNT_TYPE_FIELD, BANK_SHOW_COLUMNS, BANK_LABELS, BANK_VALIDATORS, fill_bank_names
from .validators import Normalize, Required


class OperatorSettingsView(TollbookModelView):
    """運営者設定: one row, edited in place (it is created by `flask etc init`)."""

    datamodel = SQLAInterface(OperatorSettings)
    base_permissions = ["can_list", "can_show", "can_edit", "can_export"]
    list_title = show_title = "運営者設定"
    edit_title = "運営者設定の編集"
    export_title = "運営者設定"
    label_columns = {
        "name": "運営者名", "operator_type": "運営者の種類", "operator_type_name": "運営者の種類",
        "postal_code": "郵便番号", "address": "住所", "phone": "電話番号",
        "registration_number": "適格請求書発行事業者登録番号",
        "debit_requester_code": "口座振替 委託者コード", "debit_requester_name_kana": "口座振替 委託者名カナ",
        "debit_day": "口座振替日（毎月）", **BANK_LABELS,
    }
    list_columns = ["name", "operator_type_name", "registration_number", "address"]
    show_fieldsets = [
        ("基本情報", {"fields": ["name", "operator_type_name", "postal_code", "address", "phone",
                                 "registration_number"]}),
        ("口座振替・入金口座", {"fields": ["debit_requester_code", "debit_requester_name_kana", "debit_day",
                                          *BANK_SHOW_COLUMNS]}),
    ]
    edit_columns = ["name", "operator_type", "postal_code", "address", "phone", "registration_number",
                    "debit_requester_code", "debit_requester_name_kana", "debit_day", "bank_code",
                    "branch_code", "account_type", "account_number", "account_holder_kana"]
    description_columns = {
        "operator_type": "事業協同組合なら「組合員」、企業なら「支店・営業所」と画面・帳票に表示します",
        "registration_number": "T＋13桁（インボイス制度）",
        "debit_day": "休日の場合は翌銀行営業日",
    }
    validators_columns = {
        "name": [Required()],
        "registration_number": [Normalize(lambda v, f: normalize_registration_number(v))],
        "debit_requester_name_kana": [Normalize(lambda v, f: normalize_kana(v, "debit_requester_name_kana",
                                                                          "委託者名カナ"))],
        **BANK_VALIDATORS,
    }
    edit_form_extra_fields = {
        "operator_type": SelectField("運営者の種類", choices=list(OPERATOR_TYPES.items())),
        "account_type": ACCOUNT_TYPE_FIELD,
    }

    def pre_update(self, item):
        fill_bank_names(item)
        if item.debit_day is not None and not 1 <= item.debit_day <= 31:
            raise ValueError("口座振替日は1〜31の日付です。")
