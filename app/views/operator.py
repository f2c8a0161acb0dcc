from flask import request
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import BooleanField, FileField, IntegerField, SelectField
from wtforms.validators import Optional

from app.domain.kana import normalize_kana
from app.documents.logo import LOGO_MAX_BYTES, check_logo
from app.domain.registration_number import normalize_registration_number
from app.domain.wareki import DATE_STYLES, SEIREKI
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
        "debit_day": "口座振替日（毎月）", "debit_month_offset": "口座振替の月（利用月の何か月後）",
        "invoice_day": "請求日（利用月の翌月・日）", **BANK_LABELS,
        "date_style": "帳票の日付", "date_style_name": "帳票の日付", "logo_upload": "帳票のロゴ画像",
        "logo_remove": "ロゴを削除する", "logo_text": "帳票のロゴ画像", "logo_image": "帳票のロゴ画像",
        "logo_mime": "ロゴ画像の形式",
        "default_collection_profile": "既定の収納代行・委託者",
    }
    list_columns = ["name", "operator_type_name", "registration_number", "address"]
    # the logo's bytes and type are not something to search by (FAB offers every column otherwise)
    search_exclude_columns = ["logo_image", "logo_mime"]
    show_fieldsets = [
        ("基本情報", {"fields": ["name", "operator_type_name", "postal_code", "address", "phone",
                                 "registration_number"]}),
        ("請求日・振替日", {"fields": ["invoice_day", "debit_day", "debit_month_offset"]}),
        ("帳票（請求書・明細書）", {"fields": ["date_style_name", "logo_text"]}),
        ("口座振替・入金口座", {"fields": ["default_collection_profile", "debit_requester_code", "debit_requester_name_kana",
                                          *BANK_SHOW_COLUMNS]}),
    ]
    edit_columns = ["name", "operator_type", "postal_code", "address", "phone", "registration_number",
                    "invoice_day", "debit_day", "debit_month_offset",
                    "default_collection_profile", "debit_requester_code", "debit_requester_name_kana", "bank_code",
                    "branch_code", "account_type", "account_number", "account_holder_kana",
                    "date_style", "logo_upload", "logo_remove"]
    description_columns = {
        "operator_type": "事業協同組合なら「組合員」、企業なら「支店・営業所」と画面・帳票に表示します",
        "registration_number": "T＋13桁（インボイス制度）",
        "debit_day": "休日の場合は翌銀行営業日（未設定なら5日）",
        "debit_month_offset": "2 なら翌々月（10月利用分を12月に振替）",
        "invoice_day": "20 なら利用月の翌月20日が請求日",
        "default_collection_profile": "収納代行・委託者を割り当てていない組合員の口座振替先",
        "date_style": "請求書・明細書・お知らせに印字する日付の書き方",
        "logo_upload": f"PNG か JPEG、{LOGO_MAX_BYTES // 1024}KB まで。帳票の左上に印字します（選ばなければ今のまま）",
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
        # Optional on the form: left empty they keep the cooperative cadence (翌月20日請求, 翌々月振替).
        "invoice_day": IntegerField("請求日（利用月の翌月・日）", validators=[Optional()]),
        "debit_month_offset": IntegerField("口座振替の月（利用月の何か月後）", validators=[Optional()]),
        # Not sent (an old form, a script): 西暦, the default; a value that is not a style is refused in pre_update.
        "date_style": SelectField("帳票の日付", choices=list(DATE_STYLES.items()), validate_choice=False,
                                  validators=[Optional()]),
        "logo_upload": FileField("帳票のロゴ画像"),
        "logo_remove": BooleanField("ロゴを削除する"),
    }

    def pre_update(self, item):
        """FAB flashes what this raises and shows the form again, but populate_obj has already changed
        the row in the session: without the rollback, the next query autoflushes that half-checked
        row (NOT NULL errors on emptied fields, or a refused value saved after all)."""
        try:
            self._check(item)
        except Exception:
            self.datamodel.session.rollback()
            raise

    def _check(self, item):
        fill_bank_names(item)
        item.date_style = item.date_style or SEIREKI
        if item.date_style not in DATE_STYLES:
            raise ValueError("帳票の日付は西暦か和暦を選んでください。")
        self._update_logo(item)
        if item.debit_day is not None and not 1 <= item.debit_day <= 31:
            raise ValueError("口座振替日は1〜31の日付です。")
        if item.invoice_day is None:
            item.invoice_day = 20
        if item.debit_month_offset is None:
            item.debit_month_offset = 2
        if not 1 <= item.invoice_day <= 31:
            raise ValueError("請求日は1〜31の日付です。")
        if not 0 <= item.debit_month_offset <= 6:
            raise ValueError("口座振替の月は利用月の0〜6か月後です。")

    @staticmethod
    def _update_logo(item):
        """An uploaded image replaces the logo, 「ロゴを削除する」 removes it, neither keeps it. The form fields
        are not columns: populate_obj left them on the object as plain attributes."""
        upload = request.files.get("logo_upload")
        # Read from the stream, never by the client's file name; no file chosen sends an empty part.
        data = upload.read(LOGO_MAX_BYTES + 1) if upload is not None else b""
        if request.form.get("logo_remove"):
            item.logo_image, item.logo_mime = None, None
        elif data:
            mime = check_logo(data)  # DomainError: FAB shows its Japanese message and keeps the row as it was
            item.logo_image, item.logo_mime = data, mime
        for attribute in ("logo_upload", "logo_remove"):
            item.__dict__.pop(attribute, None)
