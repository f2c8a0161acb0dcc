"""料金表 (TariffRuleView): the effective-dated pricing rules, one row per rule version.

Each rule type has its own form with labelled fields (app/views/tariff_forms.py; issue 9 item 16): the
type is chosen first, then its 金額, 率, 段階, 対象 and 端数処理; the whole rule is checked with
app.domain.tariff.parse_rule (the same check as the YAML import) and against the other versions of the
same rule (no two valid in one month). 「改定」 asks for the new values and the start date, shows each
member's total of the open month before and after (app.services.tariff_revision, the billing engine on
the revised tariff in memory), and then ends the old version the day before and adds the new one. The
list shows the rules grouped, newest version first. JSON and YAML stay as exports ('YAMLで書き出し' /
'YAMLを取り込む', app.services.tariff). Only 責任者 and 管理者 change rules; 事務 reads (roles.py)."""
import datetime as dt
import json
from itertools import groupby

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import func, select

from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.pricing.rounding import ROUNDING_NAMES
from app.domain.pricing.rule_type import rule_types
from app.domain.tariff import RULE_TYPES
from app.extensions import db
from app.models.tariff import TariffRule
from app.services.tariff import (TariffImportRefused, check_tariff_data, ensure_rule_deletable, export_tariff,
                                 import_tariff, rule_as_data)
from app.services.tariff_revision import Revision, preview_revision, revise_rule, versions_of

from .base import TollbookModelView
from .tariff_forms import describe_params, form_class, japanese_message, scope_text
from .yaml_files import yaml_download, yaml_upload


def _version_problems(data: dict) -> list[str]:
    """The other versions of the tariff with this one in place: the same rule twice from one day, or two
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
                problems.append(f"この規則には有効開始日 {data['valid_from']:%Y/%m/%d} の版がすでにあります。"
                                "その版を編集するか、別の有効開始日にしてください。")
            else:
                error = error.replace("前の版に ended: true を書いてください", "前の版の「この版で規則を終える」に印を付けてください")
                problems.append(japanese_message(error).replace(f"規則 {data['id']}", "この規則"))
        return problems
    return []


def _requested_type() -> str | None:
    wanted = request.values.get("type")
    if wanted in RULE_TYPES:
        return wanted
    editing = g.get("tollbook_editing")
    if request.endpoint == "TariffRuleView.edit" and isinstance(editing, TariffRule):
        return editing.type
    return None


class _FormOfType:
    """FAB's add_form / edit_form: the form of the rule type being added (?type=) or edited, per request."""

    def __init__(self, mode: str):
        self.mode = mode

    def refresh(self, obj=None):
        type_name = _requested_type()
        if type_name is None:
            abort(404)
        form = form_class(type_name, self.mode)()
        form.type.data = type_name
        if isinstance(obj, TariffRule) and request.method != "POST":
            form.fill_from(obj)
        form.version_problems = _version_problems
        editing = g.get("tollbook_editing")
        if self.mode == "edit" and isinstance(editing, TariffRule):
            form.existing_rule_id = editing.rule_id
        return form


def _type_name(value):
    return RULE_TYPES.get(value, value)


def _date(value):
    return value.strftime("%Y/%m/%d") if isinstance(value, dt.date) else ""


class TariffRuleView(TollbookModelView):
    """料金表: the rules grouped, one form per rule type, 改定 with its preview, Excel and YAML."""

    datamodel = SQLAInterface(TariffRule)
    route_base = "/tariff"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_export", "can_download",
                        "can_upload", "can_revise"]
    list_title = export_title = "料金表"
    show_title = "料金表の規則"
    add_title = "料金表の規則の追加"
    edit_title = "料金表の規則の編集"
    list_template = "tollbook/billing_tariff_list.html"
    add_form = _FormOfType("add")
    edit_form = _FormOfType("edit")
    label_columns = {
        "rule_id": "規則コード", "type": "種類", "label": "名称", "valid_from": "有効開始日", "valid_to": "有効終了日",
        "params": "設定", "scope": "対象", "rounding": "端数処理", "position": "順番",
        "created_at": "登録日時", "updated_at": "更新日時", "explanation": "説明",
    }
    list_columns = ["type", "label", "valid_from", "valid_to", "scope", "params", "rounding"]
    show_columns = ["type", "label", "explanation", "valid_from", "valid_to", "params", "scope", "rounding",
                    "updated_at"]
    add_columns = edit_columns = ["label", "valid_from", "valid_to", "rounding"]
    search_columns = ["type", "label", "valid_from", "valid_to"]
    order_columns = ["type", "label", "valid_from", "valid_to"]
    base_order = ("position", "asc")
    # The export keeps the code and the parameters as JSON: a file for the people who keep the YAML.
    export_columns = ["rule_id", "type", "label", "valid_from", "valid_to", "params", "scope", "rounding"]
    formatters_columns = {
        "type": _type_name,
        "rounding": lambda v: ROUNDING_NAMES.get(v, v),
        "scope": scope_text,
        "valid_from": _date,
        "valid_to": lambda v: _date(v) or "期限なし",
    }

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        """As FAB's, with the parameters as labelled lines (段階 as a table)."""
        widgets = widgets or {}
        widgets["show"] = self.show_widget(
            pk=pk, label_columns=self.label_columns, include_columns=self.show_columns,
            value_columns=self.datamodel.get_values_item(item, self.show_columns),
            formatters_columns={**self.formatters_columns, "params": lambda v: describe_params(item.type, v)},
            actions=actions or self.actions, fieldsets=show_fieldsets or self.show_fieldsets,
            modelview_name=self.__class__.__name__)
        return widgets

    def _form_widget(self, key, form, exclude_cols, widgets):
        widgets = widgets or {}
        widgets[key] = (self.add_widget if key == "add" else self.edit_widget)(
            form=form, include_cols=form.shown_fields, exclude_cols=exclude_cols or [], fieldsets=form.fieldsets)
        return widgets

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        return self._form_widget("add", form, exclude_cols, widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        return self._form_widget("edit", form, exclude_cols, widgets)

    def _export_value(self, item, column):
        if column == "type":
            return RULE_TYPES.get(item.type, item.type)
        if column == "rounding":
            return ROUNDING_NAMES.get(item.rounding, item.rounding)
        if column in ("params", "scope"):
            value = getattr(item, column)
            return json.dumps(value, ensure_ascii=False) if value else ""
        return super()._export_value(item, column)

    def record_buttons(self, item):
        buttons = super().record_buttons(item)
        if self.appbuilder.sm.has_access("can_revise", self.class_permission_name):
            buttons.append(("改定", url_for("TariffRuleView.revise", pk=item.id), "fa-history"))
        buttons.append(("版の比較", url_for("TariffRuleView.versions", pk=item.id), "fa-columns"))
        return buttons

    def pre_add(self, item):
        item.params = item.params or {}
        item.scope = item.scope or {}
        if not item.rule_id:
            item.rule_id = _new_rule_id(item.type)
        if item.position in (None, 0):
            item.position = (db.session.scalar(select(func.max(TariffRule.position))) or 0) + 1

    def pre_update(self, item):
        item.params = item.params or {}
        item.scope = item.scope or {}

    def pre_delete(self, item):
        ensure_rule_deletable(item)

    # ---- the list, grouped by rule ---------------------------------------------------------------

    @expose("/list/")
    @has_access
    def list(self):
        """Every rule once, its versions newest first (the version valid today marked)."""
        rows = db.session.scalars(select(TariffRule).order_by(TariffRule.position, TariffRule.rule_id,
                                                              TariffRule.valid_from.desc())).all()
        order: dict[str, int] = {}
        for row in rows:
            order.setdefault(row.rule_id, len(order))
        rows = sorted(rows, key=lambda r: (order[r.rule_id], -r.valid_from.toordinal()))
        groups = [(rule_id, list(versions)) for rule_id, versions in groupby(rows, key=lambda r: r.rule_id)]
        sm = self.appbuilder.sm
        can = {name: sm.has_access(f"can_{name}", self.class_permission_name)
               for name in ("add", "edit", "delete", "revise", "upload", "download", "export")}
        return self.render_template(self.list_template, title=self.list_title, groups=groups, can=can,
                                    type_name=_type_name, scope_text=scope_text, describe=describe_params,
                                    rounding_names=ROUNDING_NAMES, date=_date, today=today_jst())

    # ---- adding: the type first ------------------------------------------------------------------

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        if _requested_type() is None:
            return self.render_template("tollbook/billing_tariff_types.html", title=self.add_title,
                                        types=[(name, kind.title, _type_note(kind)) for name, kind in
                                               rule_types().items()])
        return super().add()

    # ---- 改定 -------------------------------------------------------------------------------------

    @expose("/revise/<int:pk>", methods=["GET", "POST"])
    @has_access
    def revise(self, pk):
        """改定: the new values and the start date; 「試算」 shows the open month's totals before and after;
        「改定する」 ends the old version the day before and adds the new one, then shows both."""
        row = db.session.get(TariffRule, pk)
        if row is None:
            abort(404)
        form = form_class(row.type, "revise")()
        form.type.data = row.type
        form.existing_rule_id = row.rule_id
        if request.method != "POST":
            form.fill_from(row)
        preview = None
        if request.method == "POST" and form.validate():
            revision = Revision(form.valid_from.data, form.label.data, form.params(), form.scope(),
                                form.rounding.data)
            try:
                if request.form.get("save"):
                    added = revise_rule(row.id, revision)
                    flash(f"「{row.label}」を改定しました。{row.valid_to:%Y/%m/%d} までが今までの版、"
                          f"{added.valid_from:%Y/%m/%d} からが新しい版です。", "success")
                    return redirect(url_for("TariffRuleView.versions", pk=added.id))
                preview = preview_revision(row.id, revision)
            except DomainError as error:  # nothing was written (revise_rule's unit of work rolled back)
                field = getattr(form, error.field or "valid_from", form.valid_from)
                field.errors = [*field.errors, error.message.replace("%", "%%")]
        return self.render_template("tollbook/billing_tariff_revise.html", title=f"料金表の改定（{row.label}）",
                                    row=row, form=form, preview=preview, describe=describe_params,
                                    scope_text=scope_text, rounding_names=ROUNDING_NAMES, date=_date,
                                    type_name=_type_name)

    @expose("/versions/<int:pk>")
    @has_access
    @permission_name("show")
    def versions(self, pk):
        """The rule's versions side by side, newest first (after 改定: the new one beside the old one)."""
        row = db.session.get(TariffRule, pk)
        if row is None:
            abort(404)
        return self.render_template("tollbook/billing_tariff_versions.html", title=f"料金表の版（{row.label}）",
                                    row=row, versions=versions_of(row), describe=describe_params,
                                    scope_text=scope_text, rounding_names=ROUNDING_NAMES, date=_date,
                                    type_name=_type_name, today=today_jst(),
                                    can_revise=self.appbuilder.sm.has_access("can_revise", self.class_permission_name))

    @expose("/yaml/")
    @has_access
    def download(self):
        """YAMLで書き出し: every version, in the form the YAML import reads."""
        return yaml_download(export_tariff, "料金表")

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        """YAMLを取り込む: all rules replaced in one transaction, or nothing (every error listed)."""
        return yaml_upload(self, import_tariff, TariffImportRefused, title="料金表の取込（YAML）", id_prefix="tariff",
                           intro="「YAMLで書き出し」で保存したファイルを直して取り込みます。"
                                 "すべての規則を確認してから、料金表全体を一度に置き換えます。1件でも誤りがあれば何も変更しません。",
                           back_endpoint="TariffRuleView.list", back_label="料金表へ")


def _type_note(kind) -> str:
    return {"non_taxable_usage": "関空橋税など、利用明細のうち消費税のかからない部分",
            "vehicle_discount": "道路事業者の車両単位割引（カード1枚・1か月の段階割引）",
            "contract_discount": "道路事業者の契約単位割引（組合全体の合計と1台平均で判定）",
            "member_discount": "道路事業者の割引を組合員に還元する割合、または利用額に応じた割引",
            "usage_fee": "通行料金の合計に率を掛ける手数料",
            "card_monthly_fee": "有効なカード1枚ごとの毎月の手数料",
            "member_monthly_fee": "組合員ごとの毎月の手数料",
            "yearly_card_fee": "決まった月に、有効なカード1枚ごとにかかる手数料",
            "event_fee": "カードの発行・再発行・紛失などの届出1件ごとの手数料",
            "minimum_charge": "月の請求額がこの額に満たないときに差額を加算"}.get(kind.name, "")


def _new_rule_id(type_name: str) -> str:
    """A code for a rule added on screen (the YAML file tells versions apart by it): the type and a number."""
    stem = type_name.replace("_", "-")
    taken = set(db.session.scalars(select(TariffRule.rule_id).where(TariffRule.rule_id.like(f"{stem}-%"))))
    number = 1
    while f"{stem}-{number}" in taken:
        number += 1
    return f"{stem}-{number}"
