"""What every Tollbook list screen shares: Japanese titles, sane paging, and 'Excelに出力'."""
import datetime as dt

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_appbuilder.urltools import get_filter_args, get_order_args
from sqlalchemy.exc import IntegrityError
from wtforms import DateField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

from app.domain.clock import today_jst
from app.domain.errors import DomainError

from app.exports.excel import workbook_bytes
from app.labels import with_member

from .fields import JapaneseDateField
from .form_context import FormContext
from .formatting import date_jp, yes_no
from .return_to import came_from, next_url, with_next
from .search import QuickSearchFilter, TollbookFilterConverter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TollbookModelView(ModelView):
    list_template = "tollbook/list.html"
    show_template = "tollbook/show.html"  # the record's buttons (編集, カードの異動) above its details
    page_size = 50
    export_title = "一覧"
    # Columns in the Excel file; by default those of the list screen.
    export_columns: list[str] | None = None
    money_columns: tuple[str, ...] = ()

    # One search box over several columns (views/search.py): word → SQLAlchemy condition, and what
    # the box says it searches.
    quick_search = None
    quick_search_placeholder = ""
    _quick_search_filter = None

    # Relation pickers that offer only the rows of the member the form is for (issue 9 item 1):
    # form field → model with a member_id. The member is the one the form was opened from (a member's
    # or a card's page) or, on an edit form, the record's own.
    member_scoped_pickers: dict = {}
    # Fields where people type a card number as printed (901121-0000-00011-1, full-width digits):
    # no maxlength from the column's 16 characters; the field's Normalize reduces it to digits.
    printed_number_fields: tuple[str, ...] = ()
    # A save refused by a unique constraint (two clerks, or the same record twice): the form and its
    # input stay on screen with this message.
    duplicate_message = "同じ内容のデータが既に登録されています。入力内容を確認してください（何も保存していません）。"

    def __init__(self, *args, **kwargs):
        self.validators_columns = _FreshLists(self.validators_columns or {})
        if self.datamodel.filter_converter_class is SQLAFilterConverter:
            self.datamodel.filter_converter_class = TollbookFilterConverter  # 含む first, kana-aware
        super().__init__(*args, **kwargs)
        for column, fmt in self._default_formatters().items():
            self.formatters_columns.setdefault(column, fmt)

    def _init_forms(self):
        super()._init_forms()
        # FAB's relation selects have an empty blank label, which select2 shows as "__None".
        for form in (self.add_form, self.edit_form, self.search_form):
            for value in vars(form).values():
                if isinstance(value, UnboundField) and "allow_blank" in value.kwargs:
                    value.kwargs["blank_text"] = "（選択してください）"
                if isinstance(value, UnboundField) and value.field_class is DateField:
                    # FAB makes a DateField with its date picker for every Date column: typed Japanese
                    # dates (R9.4.1, 令和9年4月1日) are read instead, unreadable ones refused.
                    value.field_class = JapaneseDateField
        for form in (self.add_form, self.edit_form):
            for name, value in vars(form).items():
                if not isinstance(value, UnboundField):
                    continue
                if "allow_blank" in value.kwargs or "query_func" in value.kwargs:
                    # A required picker starts blank too: the browser would otherwise select the first
                    # row (組合員 M0001, another member's card) and a hurried save takes it.
                    value.kwargs["allow_blank"] = True
                    value.kwargs["blank_text"] = "（選択してください）"
                if name in self.printed_number_fields:
                    value.kwargs["validators"] = [v for v in value.kwargs.get("validators") or []
                                                  if not isinstance(v, Length)]
        for name, value in vars(self.search_form).items():
            if isinstance(value, UnboundField) and name in self.printed_number_fields:
                value.kwargs["validators"] = [v for v in value.kwargs.get("validators") or []
                                              if not isinstance(v, Length)]

    def _default_formatters(self) -> dict:
        formatters = {}
        for column in set(self.list_columns) | set(self.show_columns):
            formatters[column] = _blank_if_none
            if column.startswith(("is_", "has_")):
                formatters[column] = yes_no
            elif column in ("valid_from", "valid_until", "occurred_on", "withdrawn_on", "entered_at",
                            "occurred_at", "status_changed_on", "created_at", "updated_at"):
                formatters[column] = date_jp
        return formatters

    def _export_value(self, item, column):
        value = item
        for part in column.split("."):
            value = getattr(value, part, None) if value is not None else None
        if callable(value):
            value = value()
        if isinstance(value, bool):  # before int: bool is an int, and the list shows はい/いいえ
            return yes_no(value)
        if isinstance(value, (str, int, dt.date, dt.datetime)) or value is None:
            return value
        return str(value)

    # ---- which record a form is for, and where it returns to (issue 9 items 1, 2, 6) ----------------

    def form_context(self, item=None) -> FormContext:
        """The member (and card) the form is for: from FAB's related-view filter of the page that
        opened it (?_flt_0_member=…, ?_flt_0_card=…), else from the record being edited."""
        return FormContext.from_request(self.datamodel.session, item)

    def _form_title(self, title, context: FormContext) -> str:
        label = context.label()
        return f"{title}（{label}）" if label else str(title)

    def _scope_pickers(self, form, context: FormContext) -> None:
        if context.member_id is None:
            return
        session = self.datamodel.session
        for name, model in self.member_scoped_pickers.items():
            field = getattr(form, name, None)
            if field is None or not hasattr(field, "query_func"):
                continue
            member_id = context.member_id
            field.query_func = lambda model=model, member_id=member_id: (
                session.query(model).filter(model.member_id == member_id).order_by(model.id).all())
            field._object_list = None

    def _fill_form_exclude_cols(self, exclude_cols, form):
        # Called on every POST before validation: the scoped choices are also what is accepted.
        super()._fill_form_exclude_cols(exclude_cols, form)
        self._scope_pickers(form, self.form_context(g.get("tollbook_editing")))

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        self._scope_pickers(form, self.form_context())
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        self._scope_pickers(form, self.form_context(g.get("tollbook_editing")))
        return super()._get_edit_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def _carry_the_way_back(self):
        """A form opened without ?next= gets the page that opened it as its way back, in its URL (so the
        POST, which goes to the same URL, knows it too)."""
        if request.method == "GET" and next_url() is None:
            origin = came_from()
            if origin is not None:
                return redirect(with_next(request.full_path, origin))
        return None

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        hop = self._carry_the_way_back()
        if hop is not None:
            return hop
        widget = self._add()
        if not widget:
            return self.post_add_redirect()
        return self.render_template(self.add_template, title=self._form_title(self.add_title, self.form_context()),
                                    widgets=widget)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        hop = self._carry_the_way_back()
        if hop is not None:
            return hop
        pk = self._deserialize_pk_if_composite(pk)
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        g.tollbook_editing = item  # per request (a view object serves every thread)
        widgets = self._edit(pk)
        if not widgets:
            return self.post_edit_redirect()
        return self.render_template(self.edit_template, title=self._form_title(self.edit_title, self.form_context(item)),
                                    widgets=widgets, related_views=self._related_views)

    def get_redirect(self):
        """After save, cancel or delete: the page the form came from (?next=), else the page of the
        member or card the form was for, else this list — never FAB's page history."""
        target = next_url()
        if target is None and request.endpoint and request.endpoint.endswith(".delete"):
            target = self._after_delete_target()
        if target is None:
            target = self.form_context().page_url()
        return target or url_for(f"{self.__class__.__name__}.list")

    def _after_delete_target(self):
        """The page the delete was clicked on, unless it was the deleted record's own page."""
        origin = came_from()
        if origin is None:
            return None
        pk = (request.view_args or {}).get("pk")
        own = {url_for(f"{self.__class__.__name__}.{page}", pk=pk) for page in ("show", "edit")}
        return None if origin.split("?")[0] in own else origin

    def record_buttons(self, item) -> list[tuple[str, str, str]]:
        """Buttons on the record's page: (label, url, icon). 編集 where the role may edit."""
        buttons = []
        if "can_edit" in self.base_permissions and self.appbuilder.sm.has_access("can_edit", self.class_permission_name):
            pk = self.datamodel.get_pk_value(item)
            buttons.append(("編集", with_next(url_for(f"{self.__class__.__name__}.edit", pk=pk), request.full_path),
                            "fa-edit"))
        return buttons

    def _add(self):
        """FAB's add flow, except that a broken rule (DomainError from pre_add) keeps the form and
        its input on screen with the message on the field, instead of redirecting to the list."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                try:
                    form.populate_obj(item)
                    self.pre_add(item)
                except DomainError as error:
                    self.datamodel.session.rollback()
                    field = getattr(form, error.field or "", None)
                    if field is not None:
                        field.errors = list(field.errors) + [error.message]
                    flash(error.message, "danger")
                else:
                    try:
                        self.datamodel.add(item)
                    except IntegrityError:  # a unique constraint (the same plate twice): the form stays
                        self.datamodel.session.rollback()
                        flash(self.duplicate_message, "danger")
                    else:
                        self.post_add(item)
                        flash(self.add_row_message, "success")
                        return None
        else:
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _checked_order(self, order_column: str = "", order_direction: str = ""):
        """A sort column from the URL must be one the list offers: FAB would otherwise put an
        unknown name (`?_oc_MemberView=doesnotexist`) into ORDER BY and answer 500."""
        if order_column and order_column not in self.order_columns:
            abort(400)
        if order_direction not in ("", "asc", "desc"):
            abort(400)

    def _with_quick_search(self, filters):
        """The list's filters plus the search box's words (?q=…), for the list and its export."""
        words = request.args.get("q", "").strip()
        if not (self.quick_search and words):
            return filters
        filters = filters.copy()
        if self._quick_search_filter is None:
            self._quick_search_filter = QuickSearchFilter.for_criteria(self.quick_search)
        filters._add_filter(self._quick_search_filter(self.datamodel.get_pk_name(), self.datamodel), words)
        return filters

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", **kwargs):
        self._checked_order(order_column, order_direction)
        kwargs.setdefault("delete_question", self.delete_question)
        return super()._get_list_widget(self._with_quick_search(filters), actions=actions,
                                        order_column=order_column, order_direction=order_direction, **kwargs)

    def delete_question(self, row: dict) -> str:
        """The delete confirmation names the record (issue 9 item 7): the list row's first columns."""
        shown = [_plain(row.get(column)) for column in self.list_columns[:2]]
        return f"「{' '.join(v for v in shown if v)}」を削除します。よろしいですか？"

    def render_template(self, template, **kwargs):
        if self.quick_search:
            kwargs.setdefault("quick_search_placeholder", self.quick_search_placeholder)
        if template == self.show_template and "pk" in kwargs:
            item = self.datamodel.get(kwargs["pk"], self._base_filters)
            if item is not None:
                kwargs.setdefault("record_buttons", self.record_buttons(item))
                kwargs["title"] = self._form_title(kwargs.get("title", self.show_title), FormContext.of(item))
        return super().render_template(template, **kwargs)

    def _delete(self, pk):
        """FAB's delete, except that a refused delete says why (pre_delete's DomainError, or the rows
        that refer to this one: app/services/deletion.py) instead of an empty box, and that nothing
        is detached silently."""
        from flask_appbuilder.exceptions import DatabaseException

        from app.services.deletion import refuse_if_referenced

        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        try:
            self.pre_delete(item)
            refuse_if_referenced(self.datamodel.session, item)
        except DomainError as error:
            flash(error.message, "danger")
            return
        try:
            self.datamodel.delete(item)
        except DatabaseException:
            flash("他のデータから使われているため削除できませんでした。何も変更していません。", "danger")
            return
        self.post_delete(item)
        flash(self.delete_row_message, "success")
        self.update_redirect()

    @expose("/export/")
    @has_access
    def export(self):
        """The rows the list shows with the current search and order, all pages, as .xlsx."""
        get_filter_args(self._filters)
        requested = get_order_args().get(self.__class__.__name__)
        if requested:
            self._checked_order(*requested)
        order = requested or self.base_order or ("", "")
        joined = self._with_quick_search(self._filters).get_joined_filters(self._base_filters)
        _, items = self.datamodel.query(joined, order[0], order[1])
        columns = self.export_columns or self.list_columns
        headers = [str(self.label_columns.get(c) or _RELATED_LABELS.get(c, c)) for c in columns]
        rows = ([self._export_value(item, c) for c in columns] for item in items)
        money = [i for i, c in enumerate(columns) if c in self.money_columns]
        body = workbook_bytes([(self.export_title, headers, rows, money)])
        name = f"{self.export_title}_{today_jst():%Y%m%d}.xlsx"
        return Response(body, mimetype=XLSX, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}"})


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return date_jp(value)
    return str(value)


def remove_file_downloads(app):
    """FAB's ModelView (its own user and role screens included) exposes /<view>/download/<filename>
    for file columns, reading UPLOAD_FOLDER. Tollbook stores no uploaded files: every such route
    answers 404 (the Japanese page) instead of a KeyError 500."""
    for rule in app.url_map.iter_rules():
        if rule.rule.endswith("/download/<string:filename>"):
            app.view_functions[rule.endpoint] = _no_file_download


def _no_file_download(**_):
    abort(404)


def refuse_unknown_actions(app):
    """FAB's /<view>/action/<name>/<pk> looks the action up without checking it exists: an unknown name
    was a 500 (AttributeError) for anybody, logged in or not (found by the portal's isolation matrix).
    It answers 404 now, before FAB's permission check."""
    from app.extensions import appbuilder

    views = {view.endpoint: view for view in appbuilder.baseviews if hasattr(view, "actions")}

    @app.before_request
    def unknown_action_is_404():
        from flask import request

        endpoint = request.endpoint or ""
        if endpoint.endswith(".action"):
            view = views.get(endpoint.rsplit(".", 1)[0])
            if view is not None and (request.view_args or {}).get("name") not in view.actions:
                abort(404)


# Headers of the related columns that exports add next to a relation (member.code, member.name).
_RELATED_LABELS = {"member.code": with_member("{m}コード"), "member.name": with_member("{m}名")}


class _FreshLists(dict):
    """FAB appends Length/InputRequired/Unique to the validator list it gets for a column, once for
    the add form and once for the edit form: handing out copies keeps each error shown once."""

    def get(self, key, default=None):
        value = super().get(key, default)
        return list(value) if isinstance(value, list) else value


def _blank_if_none(value):
    """FAB prints None for an empty relation or column; people expect an empty cell."""
    return "" if value is None else value


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)
