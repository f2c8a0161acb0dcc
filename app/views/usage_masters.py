"""取込形式 (import profiles, edited by staff without a programmer) and ICマスタ (with CSV upload)."""
import json

from flask import flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, Regexp, ValidationError

from app.domain.errors import DomainError
from app.domain.usage_format import DATE_FORMATS, FIELDS, REQUIRED, TIME_FORMATS
from app.extensions import db
from app.models.usage import IcMaster, ImportBatch, ImportProfile
from app.services.ic_master import HEADERS as IC_HEADERS
from app.services.ic_master import import_ic_master
from app.services.road_operators import resolve_road_operators
from app.services.profiles import PROFILE_FIELDS, copy_profiles
from app.services.uploads import display_name

from .profile_fields import AliasesField, ClassCodesField, ColumnsField, aliases_text, class_codes_text, columns_table

from .base import TollbookModelView

FILE_TYPES = {"csv": "CSV（カンマ区切り）", "fixed": "固定長"}
ENCODINGS = {"cp932": "Shift_JIS（cp932）", "utf-8": "UTF-8", "auto": "自動判定（UTF-8 か Shift_JIS）"}
DATE_EXAMPLES = {"YY/MM/DD": "26/10/01", "YYYY/MM/DD": "2026/10/01", "YYYYMMDD": "20261001",
                 "YYYY-MM-DD": "2026-10-01", "和暦": "R8/10/01・令和8年10月1日"}
TIME_EXAMPLES = {"HH:MM": "06:12", "HHMM": "0612", "HHMMSS": "061200", "HH:MM:SS": "06:12:00"}
DISCOUNT_SIGNS = {"negative": "マイナスで記載（例: -1360）", "positive": "プラスで記載（例: 1360）"}
REGIONS = {"rural": "地方部", "urban": "大都市近郊"}

COLUMNS_HELP = (
    "項目ごとに、ファイルのどの列から読むかを入力します（必須: "
    + "・".join(FIELDS[name] for name in REQUIRED) + "。ファイルにない項目は空欄）。"
    "CSV は列見出しの文字（例: 通行料金）か、左から0で数えた列番号。固定長は行の先頭を0とした開始位置（バイト）とバイト数。"
    "金額を足し合わせる列は ＋ でつなぎます（CSV: 高速料金＋一般料金、固定長: 開始位置 99＋105・バイト数 6＋6）。"
)


def _spec_ok(spec, file_type: str) -> bool:
    if file_type == "fixed":
        if isinstance(spec, list) and len(spec) == 2 and all(isinstance(n, int) and n >= 0 for n in spec):
            return True
        return isinstance(spec, list) and bool(spec) and all(_spec_ok(s, "fixed") for s in spec)
    if isinstance(spec, bool):
        return False
    if isinstance(spec, (str, int)):
        return spec != ""
    if isinstance(spec, list):
        return bool(spec) and all(_spec_ok(s, file_type) for s in spec)
    if isinstance(spec, dict):  # discounts by kind: {"深夜割引": "深夜割引額", …}
        return bool(spec) and all(_spec_ok(s, file_type) for s in spec.values())
    return False


def check_columns(form, field):
    data = field.data
    if not isinstance(data, dict) or not data:
        raise ValidationError("列の対応を入力してください（必須: " + "・".join(FIELDS[n] for n in REQUIRED) + "）。")
    unknown = [name for name in data if name not in FIELDS]
    if unknown:
        raise ValidationError(f"読めない項目があります（{len(unknown)}件）。")
    missing = [FIELDS[name] for name in REQUIRED if name not in data]
    if missing:
        raise ValidationError(f"必須の項目がありません: {'、'.join(missing)}")
    file_type = getattr(form, "file_type", None)
    file_type = file_type.data if file_type is not None else "csv"
    wrong = [FIELDS[name] for name, spec in data.items() if not _spec_ok(spec, file_type)]
    if wrong:
        how = "開始位置とバイト数" if file_type == "fixed" else "見出しの文字か列番号"
        raise ValidationError(f"列の書き方が違います（{how}）: {'、'.join(wrong)}")


def _verified_badge(value):
    if value:
        return Markup('<span class="label label-success">検証済</span>')
    return Markup('<span class="label label-warning" title="お使いの道路事業者の仕様書と照合してください">'
                  '未検証</span>')


def _profile_form_fields():
    return {
        "name": StringField("名前", validators=[InputRequired(), Regexp(
            r"^[A-Za-z0-9_.\-]+$", message="名前は半角英数字と - _ . で入力してください（例: etc-meisai-2）。")],
            description="取込のコマンドやファイルで形式を見分ける記号。半角英数字と - _ ."),
        "file_type": SelectField("ファイルの種類", choices=list(FILE_TYPES.items())),
        "encoding": SelectField("文字コード", choices=list(ENCODINGS.items())),
        "header_rows": IntegerField("見出しの行数", default=1, validators=[InputRequired(), NumberRange(min=0, max=20)],
                                    description="データの前にある行の数（見出しがなければ 0）"),
        "columns": ColumnsField("列の対応", validators=[check_columns], description=COLUMNS_HELP),
        "date_format": SelectField("日付の形式", choices=[(f, f"{f}（例: {DATE_EXAMPLES.get(f, '')}）")
                                                      for f in DATE_FORMATS]),
        "time_format": SelectField("時刻の形式", choices=[(f, f"{f}（例: {TIME_EXAMPLES.get(f, '')}）")
                                                      for f in TIME_FORMATS]),
        "discount_sign": SelectField("割引額の符号", choices=list(DISCOUNT_SIGNS.items()),
                                     description="ファイルで割引額がどう書かれているか"),
        "vehicle_class_codes": ClassCodesField("車種コードの対応",
                                               description="ファイルの車種が 1〜5 でないときだけ、車種区分ごとにファイル上のコードを入力します（例: 普通車 01）。"),
        "road_operator": StringField("道路事業者（固定）", validators=[Optional()],
                                     description="ファイルに道路事業者の列がないとき、全行に入れる名前（例: NEXCO）"),
        "header_aliases": AliasesField("見出しの言い換え",
                                       description="実ファイルで見出しの書き方が違うとき（例: （入） → （自）、時刻 → 時分）。"
                                                   "全角・半角の違い（ＩＣ と IC）は言い換えなしで同じとみなします。"),
        "peak_time_remark": StringField("平日朝夕の印（備考）", validators=[Optional()],
                                        description="備考にこの語（; 区切りの1つ）がある明細を平日朝夕の走行とします（例: （朝夕））"),
        "layout_verified": BooleanField("レイアウト検証済",
                                        description="道路事業者・カード会社の仕様書と照合済みならチェック。"
                                                    "未検証の形式は取込画面に警告が出ます。"),
        "note": TextAreaField("メモ", validators=[Optional()], render_kw={"rows": 3}),
    }


class ImportProfileView(TollbookModelView):
    """取込形式: how a kind of usage file is laid out, as data staff can add, copy and edit."""

    datamodel = SQLAInterface(ImportProfile)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_export"]
    list_title = export_title = "取込形式一覧"
    show_title = "取込形式の詳細"
    add_title = "取込形式の登録"
    edit_title = "取込形式の編集"
    list_template = "tollbook/usage_profile_list.html"
    label_columns = {
        "name": "名前", "label": "表示名", "file_type": "ファイルの種類", "encoding": "文字コード",
        "header_rows": "見出しの行数", "columns": "列の対応", "date_format": "日付の形式",
        "time_format": "時刻の形式", "discount_sign": "割引額の符号", "vehicle_class_codes": "車種コードの対応",
        "road_operator": "道路事業者（固定）", "layout_verified": "レイアウト", "note": "メモ",
        "header_aliases": "見出しの言い換え", "peak_time_remark": "平日朝夕の印（備考）",
        "updated_at": "更新日時",
    }
    list_columns = ["name", "label", "file_type", "encoding", "date_format", "layout_verified"]
    show_columns = ["label", "name", "layout_verified", "note", "file_type", "encoding", "header_rows", "columns",
                    "header_aliases", "date_format", "time_format", "discount_sign", "vehicle_class_codes",
                    "road_operator", "peak_time_remark"]
    add_columns = edit_columns = ["name", *PROFILE_FIELDS]
    search_columns = ["name", "label", "file_type", "layout_verified"]
    # The Excel file keeps the column mapping as JSON (for whoever keeps the profiles as files).
    export_columns = ["name", "label", "file_type", "encoding", "header_rows", "columns", "date_format", "time_format",
                      "discount_sign", "road_operator", "layout_verified", "note"]
    base_order = ("id", "asc")
    add_form_extra_fields = edit_form_extra_fields = _profile_form_fields()
    description_columns = {"label": "画面に出す名前（例: ETC利用照会サービス 利用明細CSV）"}
    validators_columns = {"label": [InputRequired()]}
    formatters_columns = {
        "layout_verified": _verified_badge,
        "file_type": lambda v: FILE_TYPES.get(v, v),
        "encoding": lambda v: ENCODINGS.get(v, v),
        "discount_sign": lambda v: DISCOUNT_SIGNS.get(v, v),
        "vehicle_class_codes": class_codes_text,
        "header_aliases": aliases_text,
        "note": lambda v: v or "",
    }

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        """As FAB's, with the column mapping as a table of items (CSV: header or number; fixed: positions)."""
        widgets = widgets or {}
        widgets["show"] = self.show_widget(
            pk=pk, label_columns=self.label_columns, include_columns=self.show_columns,
            value_columns=self.datamodel.get_values_item(item, self.show_columns),
            formatters_columns={**self.formatters_columns,
                                "columns": lambda v: columns_table(v, item.file_type) if v else ""},
            actions=actions or self.actions, fieldsets=show_fieldsets or self.show_fieldsets,
            modelview_name=self.__class__.__name__)
        return widgets

    def prefill_form(self, form, pk):
        """A fixed-width profile shows its columns as 開始位置・バイト数."""
        item = self.datamodel.get(pk)
        form.columns.fixed_hint = item is not None and item.file_type == "fixed"

    def _export_value(self, item, column):
        if column == "columns":
            return json.dumps(item.columns, ensure_ascii=False) if item.columns else ""
        if column == "layout_verified":
            return "検証済" if item.layout_verified else "未検証"
        if column == "file_type":
            return FILE_TYPES.get(item.file_type, item.file_type)
        if column == "discount_sign":
            return DISCOUNT_SIGNS.get(item.discount_sign, item.discount_sign)
        return super()._export_value(item, column)

    def pre_delete(self, item):
        used = db.session.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.profile_id == item.id))
        if used:
            raise DomainError(f"取込形式「{item.name}」は取込 {used:,}件で使われているため削除できません。"
                              "使わなくなった形式は、表示名やメモにその旨を書いてください。")

    @action("copy", "コピー", confirmation=None, icon="fa-copy", multiple=True, single=True)
    def copy(self, items):
        """取込形式をコピー: 'name-copy' with the same settings; one copy opens its edit screen."""
        items = [i for i in (items if isinstance(items, list) else [items]) if i is not None]
        if not items:
            flash("コピーする取込形式を選んでください。", "warning")
            return redirect(url_for("ImportProfileView.list"))
        clones = copy_profiles(items)
        for item, clone in zip(items, clones):
            flash(f"取込形式「{item.name}」をコピーして「{clone.name}」を作りました。名前と設定を確認してください。", "success")
        if len(clones) == 1:
            return redirect(url_for("ImportProfileView.edit", pk=clones[0].id))
        return redirect(url_for("ImportProfileView.list"))


def _resolved_text(rows: int) -> str:
    return f"締め前の月の走行明細 {rows:,}件の道路事業者を、ICマスタから決めました。"


def _resolve_after_master_change():
    """The master changed: open months' rows without an operator (or taken from the master) follow it."""
    rows = resolve_road_operators()
    if rows:
        flash(_resolved_text(rows), "info")


class IcMasterView(TollbookModelView):
    """ICマスタ: IC name → road, operator, region (地方部 / 大都市近郊); CSV upload."""

    datamodel = SQLAInterface(IcMaster)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_export", "can_upload"]
    list_title = export_title = "ICマスタ"
    show_title = "ICの詳細"
    add_title = "ICの登録"
    edit_title = "ICの編集"
    list_template = "tollbook/usage_ic_list.html"
    label_columns = {"code": "ICコード", "name": "IC名", "road": "路線", "road_operator": "道路事業者",
                     "region": "地域区分", "updated_at": "更新日時"}
    list_columns = ["code", "name", "road", "road_operator", "region"]
    show_columns = add_columns = edit_columns = ["code", "name", "road", "road_operator", "region"]
    search_columns = ["code", "name", "road", "road_operator", "region"]
    base_order = ("name", "asc")
    formatters_columns = {"region": lambda v: REGIONS.get(v, v or "")}
    add_form_extra_fields = edit_form_extra_fields = {
        "region": SelectField("地域区分", choices=[("", "（未設定）"), *REGIONS.items()],
                              description="平日朝夕割引の対象は地方部のみ"),
    }
    validators_columns = {"name": [InputRequired()]}

    def _export_value(self, item, column):
        if column == "region":
            return REGIONS.get(item.region, item.region or "")
        return super()._export_value(item, column)

    def pre_add(self, item):
        item.region = item.region or None
        item.code = item.code or None

    def pre_update(self, item):
        self.pre_add(item)

    def post_add(self, item):
        super().post_add(item)
        _resolve_after_master_change()

    def post_update(self, item):
        super().post_update(item)
        _resolve_after_master_change()

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        errors, summary, status = None, None, 200
        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                errors = "取り込むCSVファイルを選んでください。"
            else:
                try:
                    summary = import_ic_master(upload.stream, display_name(upload.filename))
                except DomainError as error:
                    errors = error.message
                else:
                    summary += "　" + _resolved_text(resolve_road_operators())
        return self.render_template("tollbook/usage_ic_upload.html", errors=errors, summary=summary,
                                    headers=IC_HEADERS, csrf_token=generate_csrf), status
