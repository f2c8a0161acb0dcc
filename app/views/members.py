from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import BooleanField, SelectField
from wtforms.validators import StopValidation

from app.domain.bank_account import ACCOUNT_TYPES, lookup_bank, lookup_branch, normalize_account_number
from app.domain.kana import normalize_kana
from app.domain.text import digits_only
from app.labels import with_member
from app.models import Agency, Member
from app.models.member import DIRECT_DEBIT, MEMBER_STATUSES, PAYMENT_METHODS, WITHDRAWN

from .base import TollbookModelView
from .search import member_quick_search
from .validators import Normalize, Required, field_value

BANK_COLUMNS = ["bank_code", "bank_name", "branch_code", "branch_name", "account_type", "account_number",
                "account_holder_kana"]
# What people read: the type by name (普通), not its code.
BANK_SHOW_COLUMNS = [c if c != "account_type" else "account_type_name" for c in BANK_COLUMNS]
BANK_LABELS = {
    "bank_code": "銀行コード", "bank_name": "銀行名", "branch_code": "支店コード", "branch_name": "支店名",
    "account_type": "預金種目", "account_number": "口座番号", "account_holder_kana": "口座名義カナ",
    "account_type_name": "預金種目",
}


def _bank_code(value, form):
    return lookup_bank(value).code


def _branch_code(value, form):
    bank_code = field_value(form, "bank_code")
    if not bank_code:
        return digits_only(value)
    return lookup_branch(lookup_bank(bank_code), value).code


def _account_number(value, form):
    return normalize_account_number(value)


def fill_bank_names(item):
    """Bank and branch names come from the zengin-code master, never typed by hand."""
    if item.bank_code:
        bank = lookup_bank(item.bank_code)
        item.bank_name = bank.name
        item.branch_name = lookup_branch(bank, item.branch_code).name if item.branch_code else None
    else:
        item.bank_name = item.branch_name = None


class NeededWhen:
    """Required only when another field has a given value (口座振替 needs an account, 脱退 a date)."""

    def __init__(self, other: str, value: str, message: str):
        self.other, self.value, self.message = other, value, message

    def __call__(self, form, field):
        if field_value(form, self.other) == self.value and field.data in (None, ""):
            raise StopValidation(self.message)


BANK_VALIDATORS = {
    "bank_code": [Normalize(_bank_code)],
    "branch_code": [Normalize(_branch_code)],
    "account_number": [Normalize(_account_number)],
    "account_holder_kana": [Normalize(lambda v, f: normalize_kana(v, "account_holder_kana", "口座名義カナ"))],
}
ACCOUNT_TYPE_FIELD = SelectField("預金種目", choices=[("", "")] + [(str(k), f"{k} {v}") for k, v in ACCOUNT_TYPES.items()],
                                 coerce=lambda v: int(v) if v not in (None, "", "None") else None)


class MemberView(TollbookModelView):
    datamodel = SQLAInterface(Member)
    quick_search = staticmethod(member_quick_search)
    quick_search_placeholder = "コード・名前・フリガナ・カード番号・ナンバーで検索"
    list_title = with_member("{m}一覧")
    show_title = with_member("{m}の詳細")
    add_title = with_member("{m}の登録")
    edit_title = with_member("{m}の編集")
    export_title = with_member("{m}一覧")
    label_columns = {
        "code": with_member("{m}コード"), "name": with_member("{m}名"), "kana": with_member("{m}名カナ"),
        "postal_code": "郵便番号", "address": "住所", "phone": "電話番号", "email": "メールアドレス",
        "contact_person": "担当者", "agency": "代理店", "payment_method": "支払方法",
        "payment_method_name": "支払方法", "status": "状態", "status_name": "状態", "withdrawn_on": "脱退日",
        "created_at": "登録日時", "updated_at": "更新日時", "member_group": with_member("{m}グループ"), **BANK_LABELS,
        "invoice_by_post": "請求書の郵送", "collection_profile": "収納代行・委託者",
    }
    list_columns = ["code", "name", "kana", "agency", "member_group", "payment_method_name", "bank_name",
                    "status_name"]
    search_columns = ["code", "name", "kana", "agency", "member_group", "payment_method", "status", "bank_code"]
    show_fieldsets = [
        ("基本情報", {"fields": ["code", "name", "kana", "postal_code", "address", "phone", "email",
                                 "contact_person", "agency", "member_group", "invoice_by_post", "status_name",
                                 "withdrawn_on"]}),
        ("支払方法・口座", {"fields": ["payment_method_name", "collection_profile", *BANK_SHOW_COLUMNS]}),
    ]
    _form = ["code", "name", "kana", "postal_code", "address", "phone", "email", "contact_person", "agency",
             "member_group", "invoice_by_post", "payment_method", "collection_profile", "bank_code", "branch_code", "account_type", "account_number",
             "account_holder_kana", "status", "withdrawn_on"]
    add_columns = edit_columns = _form
    export_columns = ["code", "name", "kana", "postal_code", "address", "phone", "email", "contact_person",
                      "agency", "member_group", "payment_method_name", *BANK_SHOW_COLUMNS, "status_name", "withdrawn_on"]
    description_columns = {
        "kana": "ひらがな・半角カナでも入力できます（全角カタカナに変換します）。",
        "member_group": "料金表の規則をグループ単位で適用するときに使います（空欄可）。",
        "bank_code": "4桁。銀行名・支店名は全銀協のコードから自動で入ります。",
        "address": with_member("請求書の宛先です。住所のない{m}がいると、その月は締められません。"),
        "collection_profile": "口座振替を依頼する先。空欄なら運営者設定の既定の収納代行・委託者",
        "invoice_by_post": "チェックすると、請求処理の画面の「郵送用の請求書PDF」と宛名一覧に含めます。",
    }
    validators_columns = {
        "code": [Required()], "name": [Required()],
        "kana": [Required(), Normalize(lambda v, f: normalize_kana(v, "kana", "フリガナ"))],
        **BANK_VALIDATORS,
        "bank_code": [NeededWhen("payment_method", DIRECT_DEBIT, "口座振替の組合員は銀行コードが必要です。"),
                      *BANK_VALIDATORS["bank_code"]],
        "branch_code": [NeededWhen("payment_method", DIRECT_DEBIT, "口座振替の組合員は支店コードが必要です。"),
                        *BANK_VALIDATORS["branch_code"]],
        "account_number": [NeededWhen("payment_method", DIRECT_DEBIT, "口座振替の組合員は口座番号が必要です。"),
                           *BANK_VALIDATORS["account_number"]],
        "account_holder_kana": [NeededWhen("payment_method", DIRECT_DEBIT, "口座振替の組合員は口座名義カナが必要です。"),
                                *BANK_VALIDATORS["account_holder_kana"]],
        "withdrawn_on": [NeededWhen("status", WITHDRAWN, "脱退の組合員は脱退日を入力してください。")],
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "payment_method": SelectField("支払方法", choices=list(PAYMENT_METHODS.items())),
        "status": SelectField("状態", choices=list(MEMBER_STATUSES.items())),
        "account_type": ACCOUNT_TYPE_FIELD,
        # checked for a new member, as the column's default (most members still want paper)
        "invoice_by_post": BooleanField("請求書の郵送", default=True),
    }
    formatters_columns = {"invoice_by_post": lambda value: "郵送する" if value else "郵送しない"}
    base_order = ("code", "asc")

    def pre_add(self, item):
        fill_bank_names(item)

    def pre_update(self, item):
        fill_bank_names(item)


class AgencyView(TollbookModelView):
    datamodel = SQLAInterface(Agency)
    list_title = "代理店一覧"
    show_title = "代理店の詳細"
    add_title = "代理店の登録"
    edit_title = "代理店の編集"
    export_title = "代理店一覧"
    label_columns = {"code": "代理店コード", "name": "代理店名", "kana": "代理店名カナ", "postal_code": "郵便番号",
                     "address": "住所", "phone": "電話番号", "email": "メールアドレス", **BANK_LABELS,
                     "is_individual": "個人（源泉徴収する）"}
    list_columns = ["code", "name", "kana", "phone", "bank_name", "branch_name"]
    search_columns = ["code", "name", "kana"]
    add_columns = edit_columns = ["code", "name", "kana", "is_individual", "postal_code", "address", "phone", "email",
                                  "bank_code", "branch_code", "account_type", "account_number",
                                  "account_holder_kana"]
    show_columns = export_columns = ["code", "name", "kana", "is_individual", "postal_code", "address", "phone", "email",
                                     *BANK_SHOW_COLUMNS]
    validators_columns = {
        "code": [Required()], "name": [Required()],
        "kana": [Normalize(lambda v, f: normalize_kana(v, "kana", "フリガナ"))],
        **BANK_VALIDATORS,
    }
    add_form_extra_fields = edit_form_extra_fields = {"account_type": ACCOUNT_TYPE_FIELD,
                                                      "is_individual": BooleanField("個人（源泉徴収する）")}
    base_order = ("code", "asc")

    def pre_add(self, item):
        fill_bank_names(item)

    def pre_update(self, item):
        fill_bank_names(item)
