"""NEXCO 申請書 on screen: the PDF download shared by the card-event list (tick events, 一括操作 →
申請書を印刷) and the renewal list (更新予定カード: tick cards, or every card the list shows)."""
from urllib.parse import quote

from flask import Response, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args

from app.domain.card_number import mask_card_number
from app.domain.card_renewal import DEFAULT_MONTHS, parse_months, renewal_deadline
from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.labels import with_member
from app.models import Card
from app.services.nexco_forms import MAX_FORMS_PER_DOWNLOAD, FormBatch, renewal_due_condition, renewal_forms

from .base import TollbookModelView
from .formatting import date_jp


def forms_download(batch: FormBatch, back: str, name: str = "申請書"):
    """The batch as one PDF download; nothing to print, or too much for one request: back to the list
    with the reason. Left-out events are named in a message the list shows next."""
    if batch.skipped:
        flash("申請書の対象外のため除いたもの: " + "／".join(batch.skipped), "warning")
    if not batch.forms:
        flash("印刷できる申請書がありません。", "danger")
        return redirect(back)
    if batch.count > MAX_FORMS_PER_DOWNLOAD:
        flash(f"申請書が {batch.count:,}件あり、画面から一度に印刷できる {MAX_FORMS_PER_DOWNLOAD:,}件を超えています。"
              "絞り込むか、`flask etc forms` で書き出してください。", "danger")
        return redirect(back)
    filename = f"{name}_{today_jst():%Y%m%d}_{batch.count}件.pdf"
    return Response(batch.pdf(), mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


def requested_months() -> int:
    """N of the renewal list (?months=N); a wrong value shows the default list, with the message
    (once: the filter, the page and its links all ask)."""
    cached = request.environ.get("tollbook.renewal_months")
    if cached is None:
        try:
            cached = parse_months(request.args.get("months"))
        except DomainError as error:
            flash(error.message, "warning")
            cached = DEFAULT_MONTHS
        request.environ["tollbook.renewal_months"] = cached
    return cached


class DueForRenewal(BaseFilter):
    """Base filter of the renewal list: corporate cards in use expiring by the end of the month N
    months on (N from the request, so the list, its Excel file and its forms agree)."""

    name = "更新予定"
    arg_name = "renewal_due"

    def apply(self, query, value):
        return query.filter(renewal_due_condition(renewal_deadline(today_jst(), requested_months())))


class CardRenewalView(TollbookModelView):
    """更新予定カード: ETCコーポレートカード whose 5-year validity runs out within N months, with their
    exchange applications (交換申込) printed for ticked cards or for all the list shows."""

    datamodel = SQLAInterface(Card)
    list_title = "更新予定カード（有効期限が近いコーポレートカード）"
    export_title = "更新予定カード"
    base_permissions = ["can_list", "can_export", "can_forms"]
    list_template = "tollbook/card_renewal_list.html"
    label_columns = {"member": with_member("{m}"), "member.code": with_member("{m}コード"),
                     "member.name": with_member("{m}名"), "number": "カード番号", "vehicle": "車両番号",
                     "valid_until": "有効期限", "valid_from": "有効開始日", "issuer": "発行元"}
    list_columns = ["member", "number", "vehicle", "valid_until"]
    export_columns = ["member.code", "member.name", "number", "vehicle", "valid_until"]
    search_columns = ["member", "vehicle", "valid_until"]
    base_filters = [["id", DueForRenewal, None]]
    base_order = ("valid_until", "asc")
    formatters_columns = {"number": mask_card_number, "valid_until": date_jp}

    def _export_value(self, item, column):
        if column == "number":  # the list and its Excel file show the same masked number
            return mask_card_number(item.number)
        return super()._export_value(item, column)

    def render_template(self, template, **kwargs):
        months = requested_months()
        kwargs.update(renewal_months=months, renewal_deadline=renewal_deadline(today_jst(), months))
        return super().render_template(template, **kwargs)

    @action("print_forms", "更新（交換）申込書を印刷", confirmation=None, icon="fa-print", multiple=True, single=False)
    def print_forms(self, items):
        items = [i for i in (items if isinstance(items, list) else [items]) if i is not None]
        return forms_download(renewal_forms(i.id for i in items), self._list_url(), "更新申込書")

    @expose("/forms/")
    @has_access
    def forms(self):
        """Every card the list shows (its months and search), all pages, as one PDF."""
        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        _, items = self.datamodel.query(joined, *self.base_order)
        return forms_download(renewal_forms(i.id for i in items), self._list_url(), "更新申込書")

    def _list_url(self) -> str:
        return url_for("CardRenewalView.list", months=requested_months())
