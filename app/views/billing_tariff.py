"""料金表 (TariffRuleView): the effective-dated pricing rules, one row per rule version.

The form edits one version: its type from RULE_TYPES, its parameters and scope as JSON text, its
period and rounding. The whole rule is checked with app.domain.tariff.parse_rule (the same check as
the YAML import) and against the other versions of the same id (no two valid in one month); every
error is Japanese and shown on the field it is about. 'YAMLで書き出し' / 'YAMLを取り込む' use
app.services.tariff (the import replaces every rule, or nothing when any is wrong)."""
import datetime as dt
import json
import re

from flask import request
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from app.services.tariff import rule_as_data
from app.domain.errors import DomainError
from app.domain.pricing.rounding import ROUNDING_NAMES
from app.domain.card_number import CARD_KINDS
from app.domain.pricing.rule_type import rule_types
from app.domain.tariff import RULE_TYPES, SCOPE_KEYS, parse_rule
from app.extensions import db
from app.models.tariff import TariffRule
from app.services.tariff import (TariffImportRefused, check_tariff_data, ensure_rule_deletable, export_tariff,
                                 import_tariff)

from .base import TollbookModelView
from .usage import _download
from .usage_masters import JSONTextField
from .fields import JapaneseDateField
from .yaml_files import yaml_download, yaml_upload

FIXED_KEYS = ("id", "type", "label", "valid_from", "valid_to", "scope", "rounding")
PARAMS_HELP = (
    "種類ごとの設定を JSON で書きます（docs/tariff.md）。金額は円の整数、率は 0〜1 の小数を文字列で"
    "（10% は \"0.10\"）。例: 事務手数料 {\"rate\": \"0.02\"}、管理料 {\"amount\": 660}、"
    "カード異動手数料 {\"event\": \"issue\", \"amount\": 629}、"
    "車両単位割引 {\"road_operator\": \"NEXCO\", \"bands\": [[5000, \"0\"], [10000, \"0.10\"], [null, \"0.20\"]]}、"
    "組合員への還元 {\"method\": \"pass_through\", \"ratio\": \"1.0\"}、"
    "関空橋税 {\"match\": {\"remarks\": [\"関空橋税\"]}}。"
    # the items each type takes, from its class (app/domain/pricing/<type>.py)
    + " 使える項目: " + "／".join(f"{kind.title} " + "・".join((*kind.required, *(f"{k}（任意）" for k in kind.optional)))
                              for kind in rule_types().values())
)
SCOPE_HELP = ("対象を絞るときだけ JSON で書きます（空欄なら全組合員）。使えるキー: "
              + "、".join(f"{key}（{name}）" for key, name in SCOPE_KEYS.items())
              + '。例: {"card_kind": "credit"}')
_PREFIX = re.compile(r"^規則\d+（[^）]*）:\s*")


def _shown(message: str) -> str:
    """A domain message as the field shows it: without the rule prefix, and with % doubled (FAB's
    field template passes errors through gettext, which %-formats them)."""
    return _PREFIX.sub("", message).replace("%", "%%")


def _field_of(message: str) -> str:
    """Which form field a parse_rule message is about (it names the YAML key)."""
    if "scope" in message:
        return "scope"
    if "rounding" in message:
        return "rounding"
    if "valid_to" in message and "valid_from" in message:
        return "valid_to"
    if "type「" in message:
        return "type"
    if "id がありません" in message:
        return "rule_id"
    return "params"


class TariffRuleForm(DynamicForm):
    rule_id = StringField("規則ID", validators=[InputRequired(), Length(max=60), Regexp(
        r"^[A-Za-z0-9_.\-]+$", message="規則IDは半角英数字と - _ . で入力してください（例: credit_usage_fee）。")],
        widget=BS3TextFieldWidget(),
        description="同じ規則の料率を改定するときは、同じIDで有効開始日の新しい版を追加します。")
    type = SelectField("種類", choices=list(RULE_TYPES.items()), widget=Select2Widget())
    label = StringField("名称", validators=[InputRequired(), Length(max=100)], widget=BS3TextFieldWidget(),
                        description="請求書の明細に出る名前（例: 事務手数料（クレジットカード））")
    valid_from = JapaneseDateField("有効開始日", validators=[InputRequired()],
                           description="この日を含む月から適用します（月の1日で判定）。")
    valid_to = JapaneseDateField("有効終了日", validators=[Optional()],
                         description="空欄なら期限なし。改定するときは古い版にこの日を入れます。")
    params = JSONTextField("設定（JSON）", description=PARAMS_HELP,
                           render_kw={"rows": 8, "class": "form-control", "style": "font-family:monospace"})
    scope = JSONTextField("対象（JSON）", description=SCOPE_HELP,
                          render_kw={"rows": 3, "class": "form-control", "style": "font-family:monospace"})
    rounding = SelectField("端数処理", choices=list(ROUNDING_NAMES.items()), default="floor",
                           widget=Select2Widget())

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        params = self.params.data if self.params.data is not None else {}
        scope = self.scope.data if self.scope.data is not None else {}
        if not isinstance(params, dict):
            self.params.errors.append("{ } で囲んだ JSON オブジェクト（キー: 値 の組）で書いてください。")
            return False
        if not isinstance(scope, dict):
            self.scope.errors.append('{ } で囲んだ JSON オブジェクトで書いてください（例: {"card_kind": "credit"}）。')
            return False
        fixed = [key for key in params if key in FIXED_KEYS]
        if fixed:
            self.params.errors.append(f"「{'、'.join(fixed)}」は設定（JSON）ではなく、それぞれの欄に入力してください。")
            return False
        data = {"id": self.rule_id.data, "type": self.type.data, "label": self.label.data,
                "valid_from": self.valid_from.data, "valid_to": self.valid_to.data, **params, "scope": scope,
                "rounding": self.rounding.data}
        try:
            parse_rule(data)
        except DomainError as error:
            getattr(self, _field_of(error.message)).errors.append(_shown(error.message))
            return False
        problems = _version_problems(data)
        if problems:
            self.valid_from.errors.extend(_shown(p) for p in problems)
            return False
        return True


def _version_problems(data: dict) -> list[str]:
    """The other versions of the tariff with this one in place: the same id twice from one day, or two
    periods that overlap (both would be billed), refused as the YAML import refuses them."""
    editing = (request.view_args or {}).get("pk")
    rows = db.session.scalars(select(TariffRule).order_by(TariffRule.position, TariffRule.rule_id,
                                                          TariffRule.valid_from)).all()
    others = [rule_as_data(row) for row in rows if str(row.id) != str(editing) and row.rule_id == data["id"]]
    try:
        check_tariff_data({"rules": [*others, data]})
    except TariffImportRefused as refused:
        problems = []
        for error in refused.errors:
            if "同じ id・valid_from" in error:
                problems.append(f"規則ID「{data['id']}」の有効開始日 {data['valid_from']:%Y/%m/%d} の版はすでにあります。"
                                "その版を編集するか、別の有効開始日にしてください。")
            else:
                problems.append(_PREFIX.sub("", error))
        return problems
    return []


def _type_name(value):
    return RULE_TYPES.get(value, value)


def _json_pre(value):
    if not value:
        return ""
    return Markup('<pre style="margin:0;white-space:pre-wrap">{}</pre>').format(
        json.dumps(value, ensure_ascii=False, indent=1))


def _scope_text(value) -> str:
    """{"card_kind": "credit"} → カード種別: クレジットカード; nothing → 全組合員."""
    if not value:
        return "全組合員"
    return "、".join(f"{SCOPE_KEYS.get(key, key)}: {CARD_KINDS.get(v, v) if key == 'card_kind' else v}"
                    for key, v in value.items())


def _params_short(value) -> str:
    if not value:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:78] + "…"


def _date(value):
    return value.strftime("%Y/%m/%d") if isinstance(value, dt.date) else ""


class TariffRuleView(TollbookModelView):
    """料金表: list / show / add / edit / delete the rule versions; Excel; YAML download and upload."""

    datamodel = SQLAInterface(TariffRule)
    route_base = "/tariff"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_export", "can_download",
                        "can_upload"]
    list_title = export_title = "料金表"
    show_title = "料金表の規則"
    add_title = "料金表の規則の追加"
    edit_title = "料金表の規則の編集"
    list_template = "tollbook/billing_tariff_list.html"
    add_form = edit_form = TariffRuleForm
    label_columns = {
        "rule_id": "規則ID", "type": "種類", "label": "名称", "valid_from": "有効開始日", "valid_to": "有効終了日",
        "params": "設定（JSON）", "scope": "対象", "rounding": "端数処理", "position": "順番",
        "created_at": "登録日時", "updated_at": "更新日時", "explanation": "説明",
    }
    list_columns = ["rule_id", "type", "label", "valid_from", "valid_to", "scope", "params", "rounding"]
    show_columns = ["rule_id", "type", "label", "explanation", "valid_from", "valid_to", "params", "scope", "rounding",
                    "updated_at"]
    add_columns = edit_columns = ["rule_id", "type", "label", "valid_from", "valid_to", "params", "scope",
                                  "rounding"]
    search_columns = ["rule_id", "type", "label", "valid_from", "valid_to"]
    order_columns = ["rule_id", "type", "label", "valid_from", "valid_to"]
    base_order = ("position", "asc")
    export_columns = ["rule_id", "type", "label", "valid_from", "valid_to", "params", "scope", "rounding"]
    formatters_columns = {
        "type": _type_name,
        "rounding": lambda v: ROUNDING_NAMES.get(v, v),
        "scope": _scope_text,
        "valid_from": _date,
        "valid_to": lambda v: _date(v) or "期限なし",
        "params": _params_short,
    }

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        """As FAB's, with the parameters shown as indented JSON instead of the list's one line."""
        widgets = widgets or {}
        widgets["show"] = self.show_widget(
            pk=pk, label_columns=self.label_columns, include_columns=self.show_columns,
            value_columns=self.datamodel.get_values_item(item, self.show_columns),
            formatters_columns={**self.formatters_columns, "params": _json_pre}, actions=actions or self.actions,
            fieldsets=show_fieldsets or self.show_fieldsets, modelview_name=self.__class__.__name__)
        return widgets

    def _export_value(self, item, column):
        if column == "type":
            return RULE_TYPES.get(item.type, item.type)
        if column == "rounding":
            return ROUNDING_NAMES.get(item.rounding, item.rounding)
        if column in ("params", "scope"):
            value = getattr(item, column)
            return json.dumps(value, ensure_ascii=False) if value else ""
        return super()._export_value(item, column)

    def pre_add(self, item):
        item.params = item.params or {}
        item.scope = item.scope or {}
        if item.position in (None, 0):
            item.position = (db.session.scalar(select(func.max(TariffRule.position))) or 0) + 1

    def pre_update(self, item):
        item.params = item.params or {}
        item.scope = item.scope or {}

    def pre_delete(self, item):
        ensure_rule_deletable(item)

    @expose("/yaml/")
    @has_access
    def download(self):
        """YAMLで書き出し: every version, in the form `flask etc tariff import` reads."""
        return yaml_download(export_tariff, "料金表")

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        """YAMLを取り込む: all rules replaced in one transaction, or nothing (every error listed)."""
        return yaml_upload(self, import_tariff, TariffImportRefused, title="料金表の取込（YAML）", id_prefix="tariff",
                           intro="「YAMLで書き出し」で保存したファイル（書式は docs/tariff.md）を直して取り込みます。"
                                 "すべての規則を確認してから、料金表全体を一度に置き換えます。1件でも誤りがあれば何も変更しません。",
                           back_endpoint="TariffRuleView.list", back_label="料金表へ")
