"""発行済み帳票の画面: downloads of stored documents (the invoice screen's PDF / Excel buttons), the month's
ZIP, merged invoice PDF and 宛名一覧 (billing screen), the render job's progress and start, and the search
screen for 電子帳簿保存法. Staff (事務) and managers (責任者) only (app/security/roles.py); the member portal
downloads its own documents elsewhere, by token.

Every file is served as stored (what was issued), never rendered again here.
"""
import datetime as dt
import io
import unicodedata

from flask import abort, current_app, flash, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.domain.clock import today_jst
from app.domain.document_names import download_file_name
from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.text import number_text
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.labels import member_term
from app.models import Invoice, Member, OperatorSettings
from app.models.billing import CANCELLED, CLOSED, BillingRun
from app.models.document import FORMAT_NAMES, PDF, RENDERED, IssuedDocument
from app.queries.issued_documents import DocumentSearch, search_documents
from app.services.documents.progress import document_progress, failed_documents

from .formatting import date_jp, yen

MIMETYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "zip": "application/zip"}
SEARCH_PAGE = 100
KIND_CHOICES = {"payment-notice": "口座振替のお知らせ・振込のご案内"}  # the search's choice names both titles
EXPORT_LIMIT = 100_000  # rows in one Excel export of the search (a narrower search for more)


def kind_title(kind: str, payment_method: str | None = None) -> str:
    """The document's Japanese name (the renderer's titles; the payment notice's follows the payment method:
    口座振替のお知らせ / 振込のご案内)."""
    from app.documents.render import KIND_TITLES, payment_notice_title

    if kind == "payment-notice" and payment_method:
        return payment_notice_title(payment_method)
    return KIND_TITLES.get(kind, kind)


def send_stored(content, name: str, fmt: str):
    """A file download with its Japanese name (Content-Disposition filename*, RFC 6266 / 5987; Flask adds
    an ASCII fallback for old clients). Never cached by a shared cache."""
    body = io.BytesIO(content) if isinstance(content, (bytes, bytearray)) else content
    response = send_file(body, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _url_month(text: str) -> str:
    try:
        return str(Month.parse(text))
    except DomainError:
        abort(404)


def _closed_month(month: str) -> str:
    month = _url_month(month)
    if db.session.scalar(select(BillingRun.status).where(BillingRun.month == month)) != CLOSED:
        abort(404)
    return month


def _operator_name() -> str:
    settings = db.session.query(OperatorSettings).first()
    return settings.name if settings else ""


class IssuedDocumentView(BaseView):
    """発行済み帳票: search (電子帳簿保存法), downloads, the month's files and the render job."""

    route_base = "/documents"
    default_view = "search"
    base_permissions = ["can_list", "can_download", "can_render"]
    method_permission_name = {"search": "list", "export": "list", "status": "list", "download": "download",
                              "month_zip": "download", "merged": "download", "mailing": "download",
                              "render": "render"}

    # ---- one document ----------------------------------------------------------------------------

    @expose("/download/<int:pk>")
    @has_access
    def download(self, pk):
        row = db.session.execute(
            select(IssuedDocument.content, IssuedDocument.status, IssuedDocument.kind, IssuedDocument.format,
                   IssuedDocument.month, Member.code, Invoice.status, Invoice.number, Invoice.payment_method)
            .join(Member, Member.id == IssuedDocument.member_id).join(Invoice, Invoice.id == IssuedDocument.invoice_id)
            .where(IssuedDocument.id == pk)).first()
        if row is None or row[1] != RENDERED:
            abort(404)
        content, _, kind, fmt, month, code, invoice_status, number, method = row
        cancelled = number if invoice_status == CANCELLED else None
        return send_stored(content, download_file_name(kind_title(kind, method), code, month, fmt, cancelled), fmt)

    # ---- the month (billing screen) ---------------------------------------------------------------

    @expose("/month/<month>/status")
    @has_access
    def status(self, month):
        from app.jobs.documents import is_running, last_message

        progress = document_progress(_url_month(month))
        return jsonify({"total": progress.total, "rendered": progress.rendered, "failed": progress.failed,
                        "pending": progress.pending, "percent": progress.percent, "running": is_running(),
                        "message": last_message()})

    @expose("/month/<month>/render", methods=["POST"])
    @has_access
    def render(self, month):
        from app.jobs.documents import start_rendering
        from app.services.documents.requests import request_month_documents

        month = _closed_month(month)
        request_month_documents(month)  # a month closed before documents existed gets its rows first
        start_rendering(current_app._get_current_object(), current_user.username, current_user.id)
        flash(f"{month} の未作成・作成失敗の帳票の作成を始めました。進み具合はこの画面に表示します。", "info")
        return redirect(url_for("BillingView.review", month=month))

    def _month_file(self, month: str, make, name: str, fmt: str):
        """One file of the month (`make(month)` → bytes or a temporary file), or its refusal on the billing screen."""
        month = _closed_month(month)
        try:
            body = make(month)
        except DomainError as error:
            flash(error.message, "warning")
            return redirect(url_for("BillingView.review", month=month))
        return send_stored(body, name.format(month=month), fmt)

    @expose("/month/<month>/zip")
    @has_access
    def month_zip(self, month):
        from app.services.documents.export import month_zip

        return self._month_file(month, month_zip, "帳票_{month}.zip", "zip")

    @expose("/month/<month>/invoices.pdf")
    @has_access
    def merged(self, month):
        from app.services.documents.export import merged_invoices_pdf

        return self._month_file(month, lambda m: merged_invoices_pdf(m, _operator_name(), member_term()),
                                "請求書_郵送用_{month}.pdf", "pdf")

    @expose("/month/<month>/mailing.xlsx")
    @has_access
    def mailing(self, month):
        from app.services.documents.export import mailing_list_workbook

        return self._month_file(month, mailing_list_workbook, "宛名一覧_{month}.xlsx", "xlsx")

    # ---- 検索 (電子帳簿保存法) ------------------------------------------------------------------------

    def _search_args(self) -> tuple[DocumentSearch, list[str], dict]:
        errors: list[str] = []
        form = {key: (request.args.get(key) or "").strip() for key in
                ("date_from", "date_to", "amount_min", "amount_max", "member", "kind")}

        def date(key, label):
            if not form[key]:
                return None
            try:
                return dt.date.fromisoformat(unicodedata.normalize("NFKC", form[key]).replace("/", "-"))
            except ValueError:
                errors.append(f"{label}は 2026-11-20 の形で入力してください。")
                return None

        def amount(key, label):
            text = number_text(form[key])
            if not text:
                return None
            try:
                return int(text)
            except ValueError:
                errors.append(f"{label}は円の整数で入力してください。")
                return None

        search = DocumentSearch(date("date_from", "請求日（から）"), date("date_to", "請求日（まで）"),
                                amount("amount_min", "請求金額（から）"), amount("amount_max", "請求金額（まで）"),
                                form["member"][:100], form["kind"] if form["kind"] in _kinds() else "")
        if search.date_from and search.date_to and search.date_from > search.date_to:
            errors.append("請求日の範囲が逆です（から ≦ まで）。")
        if (search.amount_min is not None and search.amount_max is not None
                and search.amount_min > search.amount_max):
            errors.append("請求金額の範囲が逆です（から ≦ まで）。")
        return search, errors, form

    @expose("/")
    @has_access
    def search(self):
        search, errors, form = self._search_args()
        page = request.args.get("page", "1")
        page = int(page) if page.isdigit() and int(page) > 0 else 1
        count, rows = (0, []) if errors else search_documents(search, (page - 1) * SEARCH_PAGE, SEARCH_PAGE)
        query = {k: v for k, v in form.items() if v}
        return self.render_template(
            "tollbook/documents_search.html", form=form, errors=errors, rows=rows, count=count, page=page,
            pages=max(1, -(-count // SEARCH_PAGE)), query=query, kinds=[(k, KIND_CHOICES.get(k) or kind_title(k)) for k in _kinds()],
            kind_title=kind_title, format_names=FORMAT_NAMES, yen=yen, date_jp=date_jp, member_label=member_term(),
            export_url=url_for("IssuedDocumentView.export", **query), csrf_token=generate_csrf)

    @expose("/export/")
    @has_access
    def export(self):
        search, errors, _ = self._search_args()
        if errors:
            for error in errors:
                flash(error, "danger")
            return redirect(url_for("IssuedDocumentView.search", **request.args))
        count, rows = search_documents(search, 0, EXPORT_LIMIT)
        term = member_term()
        headers = ["請求日", "請求書番号", f"{term}コード", f"{term}名", "利用月", "帳票", "形式", "請求金額",
                   "発行日時", "サイズ（バイト）", "SHA-256", "請求書の状態", "差し替えた帳票"]
        data = ([r.invoice_date, r.invoice_number, r.member_code, r.member_name, r.month, kind_title(r.kind, r.payment_method),
                 FORMAT_NAMES.get(r.format, r.format), r.total, r.issued_at, r.size, r.sha256,
                 "取消（訂正済）" if r.cancelled else "有効", r.replaces_document_id or ""] for r in rows)
        sheets = [("発行済み帳票", headers, data, [7, 9])]
        if count > EXPORT_LIMIT:
            sheets.append(("注意", ["内容"], [[f"該当 {count:,}件のうち最初の {EXPORT_LIMIT:,}件です。条件を絞ってください。"]], []))
        return send_stored(workbook_bytes(sheets), f"発行済み帳票_{today_jst():%Y%m%d}.xlsx", "xlsx")


def _kinds() -> tuple[str, ...]:
    from app.documents.render import KINDS

    return tuple(KINDS)
