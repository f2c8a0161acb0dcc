"""請求の画面: 請求処理 (run a month's draft, review it, close it), 請求書 (read only, with corrections),
請求一覧 (on screen and Excel). 料金表 is app/views/billing_tariff.py.

Every screen calls app.services.billing / invoice_list: the views only read the request, call one
service function and show its result or its Japanese refusal. Who may do what is data
(app/security/roles.py): staff (事務) run drafts and register corrections, the manager (責任者) closes
the month (can_close), members see nothing here.
"""
import re

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from app.domain.card_number import format_card_number
from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.tariff import describe_kept_rule
from app.domain.text import number_text
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.labels import member_term, with_member
from app.models import Card, OperatorSettings
from app.models.billing import (CANCELLED, DRAFT, INVOICE_DRAFT, ISSUED, RUN_STATUSES, BillingRun, Invoice)
from app.models.member import PAYMENT_METHODS
from app.models.usage import BATCH_ACTIVE, ImportBatch
from app.services.billing.close import close_billing_run
from app.services.billing.corrections import add_adjustment, adjustments_for, reissue_invoice
from app.services.billing.draft import run_billing
from app.services.billing.review import operator_check, review
from app.services.documents.progress import (document_counts, document_progress, failed_documents,
                                             invoice_documents)
from app.services.invoice_list import MONEY_COLUMNS, invoice_list_headers, invoice_list_rows
from app.services.receivables import write_off_notes_after_correction
from app.jobs.documents import is_running as rendering_now, last_message as last_render_message

from .base import TollbookModelView
from .formatting import date_jp, right, yen
from .usage import _download, month_jp


# Where staff fix what a warning is about (app.services.billing.review.BillingWarning.code).
WARNING_LINKS = {
    "unregistered_card": ("UnregisteredCardView.list", "未登録カードを開く", True),
    "used_after_loss": ("UsageAlertView.list", "紛失後利用を開く", True),
    "usage_without_member": ("UsageRecordView.list", "明細一覧を開く", True),
    "no_payment_method": ("MemberView.list", None, False),
    "incomplete_bank_account": ("MemberView.list", None, False),
    "cards_without_usage": ("CardView.list", "カード一覧を開く", False),
    "rule_ends_without_successor": ("TariffRuleView.list", "料金表を開く", False),
    "rule_ended": ("TariffRuleView.list", "料金表を開く", False),
    "member_without_address": ("MemberView.list", None, False),
    "no_registration_number": ("OperatorSettingsView.list", "運営者設定を開く", False),
}


def _can(permission: str, view: str) -> bool:
    from app.extensions import appbuilder

    return bool(current_user.is_authenticated and appbuilder.sm.has_access(permission, view))


def _flash_error(error: DomainError) -> None:
    """A refusal, one line per reason (close_billing_run lists them on separate lines)."""
    lines = [line for line in error.message.split("\n") if line.strip()]
    flash(Markup("<br>").join(lines), "danger")


def _warning_link(warning, month: str) -> str | None:
    endpoint, text, with_month = WARNING_LINKS.get(warning.code, (None, None, False))
    if endpoint is None:
        return None
    try:
        href = url_for(endpoint, month=month) if with_month else url_for(endpoint)
    except Exception:  # noqa: BLE001  a view that is not registered: no link
        return None
    return href, text or f"{member_term()}一覧を開く"


def _invoice_months() -> list[str]:
    """Months with invoices or a billing run, newest first."""
    months = set(db.session.scalars(select(BillingRun.month)))
    months |= set(db.session.scalars(select(Invoice.month).distinct()))
    return sorted(months, reverse=True)


def _usage_months() -> list[str]:
    return sorted(set(db.session.scalars(select(ImportBatch.usage_month).where(ImportBatch.status == BATCH_ACTIVE)
                                         .distinct())), reverse=True)


def _month_arg(months: list[str]) -> str:
    """The month asked for (YYYY-MM), else the newest one there is."""
    month = (request.args.get("month") or "").strip()
    if month:
        try:
            return str(Month.parse(month, "請求月"))
        except DomainError as error:
            flash(error.message, "warning")
    return months[0] if months else ""


def run_status_label(status: str) -> Markup:
    css = "label-success" if status != DRAFT else "label-warning"
    return Markup('<span class="label {}">{}</span>').format(css, RUN_STATUSES.get(status, status))


def invoice_status_label(status: str) -> Markup:
    css = {INVOICE_DRAFT: "label-warning", ISSUED: "label-success", CANCELLED: "label-default"}.get(status, "label-info")
    names = {INVOICE_DRAFT: "下書き", ISSUED: "発行済", CANCELLED: "取消"}
    return Markup('<span class="label {}">{}</span>').format(css, names.get(status, status))


def signed_yen(value) -> str:
    if value is None:
        return ""
    return f"+{value:,}円" if value > 0 else yen(value)


# ---- 請求処理 ------------------------------------------------------------------------------------

class BillingView(BaseView):
    """請求処理: the months (runs) with their status; run or recompute a draft (staff); review a month
    (totals, warnings, one row per member, operator check); close it (manager, can_close)."""

    route_base = "/billing"
    default_view = "list"
    method_permission_name = {"list": "list", "review": "show", "run": "run", "close": "close"}
    base_permissions = ["can_list", "can_show", "can_run", "can_close"]

    @expose("/")
    @has_access
    def list(self):
        runs = db.session.scalars(select(BillingRun).order_by(BillingRun.month.desc())).all()
        run_months = {run.month for run in runs}
        usage_months = _usage_months()
        pending = [m for m in usage_months if m not in run_months]
        open_draft_or_usage = [r.month for r in runs if r.status == DRAFT] + pending
        suggested = (request.args.get("month") or (max(open_draft_or_usage) if open_draft_or_usage else "")
                     or _default_month())
        return self.render_template(
            "tollbook/billing_runs.html", runs=runs, pending=pending, suggested=suggested,
            can_run=_can("can_run", "BillingView"), csrf_token=generate_csrf, yen=yen, date_jp=date_jp,
            month_jp=month_jp, run_status_label=run_status_label, documents=document_counts())

    @expose("/run", methods=["POST"])
    @has_access
    def run(self):
        month_text = (request.form.get("month") or "").strip()
        try:
            month = str(Month.parse(month_text, "請求月"))
            summary = run_billing(month)
        except DomainError as error:
            _flash_error(error)
            return redirect(url_for("BillingView.list", month=month_text or None))
        flash(str(summary).rsplit(" ", 1)[0], "success")  # without the seconds
        return redirect(url_for("BillingView.review", month=month))

    @expose("/month/<month>")
    @has_access
    def review(self, month):
        month = _url_month(month)
        page = request.args.get("page", "1")
        page = int(page) if page.isdigit() and int(page) > 0 else 1
        result = review(month, offset=(page - 1) * REVIEW_PAGE, limit=REVIEW_PAGE)
        check = operator_check(month, limit=CHECK_ROWS)
        check_rows = _check_rows_shown(check.rows)
        links = {w.code: _warning_link(w, month) for w in result.warnings}
        blocking = [w for w in result.warnings if w.blocking]
        closed = result.run is not None and result.run.status != DRAFT
        return self.render_template(
            "tollbook/billing_review.html", month=month, review=result, run=result.run, check=check,
            check_rows=check_rows, page=page, pages=max(1, -(-result.totals.invoice_count // REVIEW_PAGE)),
            links=links, blocking=blocking, can_run=_can("can_run", "BillingView"),
            can_close=_can("can_close", "BillingView"), csrf_token=generate_csrf, yen=yen,
            signed_yen=signed_yen, date_jp=date_jp, month_jp=month_jp, member_label=member_term(),
            run_status_label=run_status_label, invoice_status_label=invoice_status_label,
            card_text=format_card_number, invoices_url=InvoiceView.month_url(month), list_url=url_for("InvoiceListView.list", month=month),
            documents=document_progress(month) if closed else None,
            failed_documents=failed_documents(month) if closed else [], rendering=closed and rendering_now(),
            render_message=last_render_message() if closed else "", kind_title=_kind_title,
            can_download=_can("can_download", "IssuedDocumentView"), can_render=_can("can_render", "IssuedDocumentView"),
            debit=_debit_panel(month) if closed and _can("can_list", "DebitBatchView") else None,
            can_generate_debit=_can("can_generate", "DebitBatchView"))

    @expose("/close/<month>", methods=["POST"])
    @has_access
    def close(self, month):
        month = _url_month(month)
        try:
            run = close_billing_run(month, current_user.username)
        except DomainError as error:
            _flash_error(error)
            return redirect(url_for("BillingView.review", month=month))
        flash(f"{month_jp(run.month)}を締めました: 請求書 {run.invoice_count:,}件に番号を付けて発行しました"
              f"（請求金額 {run.total:,}円）。", "success")
        _render_in_background()
        return redirect(url_for("BillingView.review", month=month))


def _debit_panel(month: str) -> dict:
    from .payments import debit_panel

    return debit_panel(month)


def _render_in_background() -> None:
    """The documents the close (or a re-issue) requested are rendered by the background job
    (app/jobs/documents.py) unless DOCUMENTS_RENDER_AFTER_CLOSE is off (then: the screen's button or
    flask etc render-documents)."""
    from flask import current_app

    from app.jobs.documents import start_rendering

    if current_app.config.get("DOCUMENTS_RENDER_AFTER_CLOSE", True):
        start_rendering(current_app._get_current_object(), current_user.username, current_user.id)
        flash("請求書・明細書などの帳票（PDF・Excel）の作成を始めました。進み具合は請求処理の画面に表示します。", "info")


def _in_kind_order(documents: dict) -> list:
    from .documents import _kinds

    order = {kind: i for i, kind in enumerate(_kinds())}
    return sorted(documents.items(), key=lambda item: order.get(item[0], len(order)))


def _kind_title(kind: str, payment_method: str | None = None) -> str:
    from .documents import kind_title

    return kind_title(kind, payment_method)


REVIEW_PAGE = 100  # member rows per review page (10,000 members: the page stays fast)
CHECK_ROWS = 200  # operator-check rows shown: those with a difference first


def _check_rows_shown(rows: list) -> list:
    """All rows when few; else the rows whose report differs, then the others, CHECK_ROWS in all (the
    margin and the count of differences below the table are over every row)."""
    if len(rows) <= CHECK_ROWS:
        return rows
    differing = [row for row in rows if row.difference]
    return (differing + [row for row in rows if not row.difference])[:CHECK_ROWS]


def _default_month() -> str:
    """Last month (Japan time): what is billed at the start of a month."""
    return str(Month.containing(today_jst()).previous())


def _url_month(text: str) -> str:
    """The month in a URL ('2026-10', also '2026-1' or '202610'); 404 for anything else."""
    try:
        return str(Month.parse(text))
    except DomainError:
        abort(404)


# ---- 請求書 ---------------------------------------------------------------------------------------

def _member_link(member):
    if member is None:
        return ""
    return Markup('<a href="{}">{} {}</a>').format(url_for("MemberView.show", pk=member.id), member.code, member.name)


def _invoice_number(number):
    return number or Markup('<span class="text-muted">（未採番）</span>')


class InvoiceView(TollbookModelView):
    """請求書: read only. The list always shows one month (the newest by default); the show page has
    every line with its breakdown, the tax per rate, the issuer, corrections; staff register a
    correction amount or issue a corrected invoice on an issued one."""

    datamodel = SQLAInterface(Invoice)
    route_base = "/invoices"
    base_permissions = ["can_list", "can_show", "can_export", "can_adjust", "can_reissue"]
    method_permission_name = {"list": "list", "show": "show", "export": "export", "adjust": "adjust",
                              "reissue": "reissue"}
    list_title = export_title = "請求書一覧"
    show_title = "請求書"
    list_template = "tollbook/billing_invoices.html"
    label_columns = {
        "number": "請求書番号", "member": with_member("{m}"), "member.code": with_member("{m}コード"),
        "member.name": with_member("{m}名"), "month": "利用月", "kind": "種別", "kind_name": "種別",
        "status": "状態", "status_name": "状態", "total": "請求金額", "invoice_date": "請求日",
        "debit_date": "振替日・支払期日", "usage_total": "利用額", "discount_total": "割引額", "fee_total": "手数料",
        "adjustment_total": "訂正額", "tax_amount": "消費税", "payment_method": "支払方法",
    }
    list_columns = ["number", "member", "month", "kind_name", "status", "invoice_date", "total"]
    search_columns = ["month", "number", "member", "status", "kind"]
    order_columns = ["number", "month", "total", "invoice_date"]
    base_order = ("id", "asc")
    export_columns = ["number", "member.code", "member.name", "month", "kind_name", "status_name", "invoice_date",
                      "debit_date", "usage_total", "discount_total", "fee_total", "adjustment_total", "tax_amount",
                      "total"]
    money_columns = ("usage_total", "discount_total", "fee_total", "adjustment_total", "tax_amount", "total")
    formatters_columns = {
        "number": _invoice_number,
        "member": _member_link,
        "month": month_jp,
        "status": invoice_status_label,
        "invoice_date": date_jp,
        "total": lambda v: right(yen(v)),
    }

    @staticmethod
    def month_url(month: str) -> str:
        return url_for("InvoiceView.list", _flt_3_month=month)

    def _with_month(self, filters) -> str:
        """The list always names a month: the one searched for, else the newest with invoices."""
        for flt, value in zip(filters.filters, filters.values):
            value = value[0] if isinstance(value, (list, tuple)) and value else value
            if getattr(flt, "column_name", None) == "month" and value:
                return str(value)
        months = _invoice_months()
        if months:
            filters.add_filter("month", FilterEqual, months[0])
            return months[0]
        return ""

    def _get_list_widget(self, filters, **kwargs):
        g.invoice_month = self._with_month(filters)
        return super()._get_list_widget(filters=filters, **kwargs)

    @expose("/list/")
    @has_access
    def list(self):
        widgets = self._list()
        month = g.get("invoice_month", "")
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    month=month, months=_invoice_months(), month_jp=month_jp,
                                    month_url=self.month_url,
                                    export_url=url_for("InvoiceView.export", _flt_3_month=month) if month else None)

    @expose("/export/")
    @has_access
    def export(self):
        get_filter_args(self._filters)
        month = self._with_month(self._filters)
        order = get_order_args().get(self.__class__.__name__) or self.base_order or ("", "")
        _, items = self.datamodel.query(self._filters.get_joined_filters(self._base_filters), order[0], order[1])
        columns = self.export_columns
        headers = [str(self.label_columns.get(c, c)) for c in columns]
        rows = ([self._export_value(item, c) for c in columns] for item in items)
        money = [i for i, c in enumerate(columns) if c in self.money_columns]
        body = workbook_bytes([(f"{self.export_title} {month}".strip(), headers, rows, money)])
        return _download(body, f"請求書一覧_{month or 'all'}_{today_jst():%Y%m%d}.xlsx")

    def _export_value(self, item, column):
        if column == "status_name":
            return {INVOICE_DRAFT: "下書き", ISSUED: "発行済", CANCELLED: "取消"}.get(item.status, item.status)
        return super()._export_value(item, column)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        invoice = db.session.get(Invoice, int(pk)) if str(pk).isdigit() else None
        if invoice is None:
            abort(404)
        return self._render_show(invoice)

    def _render_show(self, invoice, form=None, status=200):
        settings = db.session.query(OperatorSettings).first()
        card_ids = {line.card_id for line in invoice.lines if line.card_id}
        cards = {card.id: str(card) for card in db.session.scalars(select(Card).where(Card.id.in_(card_ids)))}
        subtotals = {s.category: s for s in invoice.tax_subtotals}
        adjustments = adjustments_for(invoice.id)
        staff = invoice.status == ISSUED
        documents = _in_kind_order(invoice_documents(invoice.id))
        from app.services.receivables import payments_of, receivable_of

        receivable = receivable_of(invoice.id) if invoice.status == ISSUED else None
        return self.render_template(
            "tollbook/billing_invoice_show.html", title=self.show_title, invoice=invoice, settings=settings,
            cards=cards, subtotals=subtotals, adjustments=adjustments, form=form or {},
            can_adjust=staff and _can("can_adjust", "InvoiceView"),
            can_reissue=staff and _can("can_reissue", "InvoiceView"),
            payment_name=PAYMENT_METHODS.get(invoice.payment_method or "", invoice.payment_method or ""),
            run=invoice.billing_run, csrf_token=generate_csrf, yen=yen, signed_yen=signed_yen, date_jp=date_jp,
            month_jp=month_jp, member_label=member_term(), invoice_status_label=invoice_status_label,
            describe_kept_rule=describe_kept_rule, documents=documents, kind_title=_kind_title,
            can_download=_can("can_download", "IssuedDocumentView"), receivable=receivable,
            payments=payments_of(invoice.id) if receivable else [],
            list_url=self.month_url(invoice.month)), status

    def _issued(self, pk):
        invoice = db.session.get(Invoice, int(pk)) if str(pk).isdigit() else None
        if invoice is None:
            abort(404)
        return invoice

    @expose("/adjust/<pk>", methods=["POST"])
    @has_access
    def adjust(self, pk):
        """訂正額を登録: billed on the member's invoice of the next open month."""
        invoice = self._issued(pk)
        form = {"amount": request.form.get("amount", ""), "description": request.form.get("description", "")}
        try:
            amount = parse_yen(form["amount"])
            adjustment = add_adjustment(invoice.id, amount, form["description"], current_user.username)
        except DomainError as error:
            flash(error.message, "danger")
            form["error_field"] = error.field or "amount"
            form["error"] = error.message
            return self._render_show(self._issued(pk), form={"adjust": form}, status=400)
        flash(f"請求書 {invoice.number} に訂正額 {adjustment.amount:+,}円（{adjustment.description}）を登録しました。"
              "締めていない次の月の請求書で請求します。", "success")
        return redirect(url_for("InvoiceView.show", pk=invoice.id))

    @expose("/reissue/<pk>", methods=["POST"])
    @has_access
    def reissue(self, pk):
        """訂正請求書を発行: a new number; the original is cancelled and points at it."""
        invoice = self._issued(pk)
        reason = request.form.get("reason", "")
        number = invoice.number
        try:
            corrected = reissue_invoice(invoice.id, reason, current_user.username)
        except DomainError as error:
            flash(error.message, "danger")
            return self._render_show(self._issued(pk), form={"reissue": {"reason": reason, "error": error.message}},
                                     status=400)
        flash(f"訂正請求書 {corrected.number} を発行しました。請求書 {number} は取消になりました。", "success")
        for note in write_off_notes_after_correction(invoice.id):
            flash(note, "warning")
        _render_in_background()
        return redirect(url_for("InvoiceView.show", pk=corrected.id))


def parse_yen(text) -> int:
    """'-1,000', '−1000円', '１０００' → int; anything else is refused in Japanese."""
    value = number_text(text)
    if value.startswith("+"):
        value = value[1:]
    if not re.fullmatch(r"-?\d+", value):
        raise DomainError("訂正額は円の整数で入力してください（追加請求は 1000、返金・減額は -1000）。", "amount")
    return int(value)


# ---- 請求一覧 -------------------------------------------------------------------------------------

class InvoiceListView(BaseView):
    """請求一覧: one row per invoice of the month that counts, and a totals row; the same as Excel."""

    route_base = "/billing/invoice-list"
    default_view = "list"
    base_permissions = ["can_list", "can_download"]

    @expose("/")
    @has_access
    def list(self):
        months = _invoice_months()
        month = _month_arg(months)
        rows = invoice_list_rows(month) if month else []
        run = db.session.scalar(select(BillingRun).where(BillingRun.month == month)) if month else None
        return self.render_template(
            "tollbook/billing_invoice_list.html", month=month, months=months, rows=rows,
            headers=invoice_list_headers(), money=set(MONEY_COLUMNS), run=run, yen=yen, month_jp=month_jp,
            run_status_label=run_status_label)

    @expose("/download/")
    @has_access
    def download(self):
        months = _invoice_months()
        month = _month_arg(months)
        if not month:
            flash("出力する請求書がありません。", "warning")
            return redirect(url_for("InvoiceListView.list"))
        body = workbook_bytes([(f"請求一覧 {month}", invoice_list_headers(), invoice_list_rows(month),
                                MONEY_COLUMNS)])
        return _download(body, f"請求一覧_{month}.xlsx")

