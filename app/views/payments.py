"""入金の画面: 収納代行・委託者 (profiles, YAML like the tariff) and 口座振替データ (全銀 種別91 batches:
generate for a closed month, download, mark sent). Every screen calls one service
(app/services/collection_profiles.py, app/services/debit_files.py) and shows its result or its Japanese
refusal."""
from flask import abort, flash, redirect, request, url_for
import tempfile
from pathlib import Path

from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, SelectField

from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.zengin.files import CHARSETS, CUSTOMER_NUMBER_KINDS, SEPARATOR_NAMES, show_records
from app.domain.zengin.profile import HEADER_ACCOUNT_TYPES, check_profile, FIELDS
from app.extensions import db
from app.models.billing import CLOSED, BillingRun, Invoice
from app.domain.zengin.reader import ResultFileRefused
from app.models.payment import (BATCH_STATUSES, GENERATED, PROFILE_KINDS, SENT, CollectionProfile, DebitBatch,
                                DebitResultImport, Payment)
from app.services.collection_profiles import (ProfileImportRefused, all_profiles, apply_profile_values,
                                              ensure_profile_deletable, export_profiles, import_profiles,
                                              members_using)
from app.services.debit_files import (batch_excluded, delivered_batches, delivered_warning, generate_debit_file,
                                      mark_sent, replaced_batches)
from app.services.debit_results import failed_debits, import_debit_result
from app.domain.agency_commission import BASES as COMMISSION_BASES
from app.models import AgencyCommissionRule
from app.services.agency_commissions import (COMMISSION_MONEY, agency_transfer_file, commission_list_headers,
                                             commission_list_rows, export_commission_list)
from app.services.receivables import (UNPAID_MONEY, complete_transfer_reconciliation, decide_write_off, export_unpaid_list, pending_write_offs,
                                      paying_invoice, receivable_of, request_write_off, unpaid_list,
                                      unpaid_list_headers)
from app.services.transfers import (TransferImportRefused, add_transfer, import_transfer_csv, match_transfer,
                                    open_receipts, suggestions_for)
from app.services.uploads import display_name
from app.services.payment_lists import (DEBIT_MONEY, TRANSFER_MONEY, debit_list_headers, debit_list_sections,
                                        export_debit_list, export_transfer_list, transfer_list_headers,
                                        transfer_list_rows)

from .base import TollbookModelView
from .billing import _can, _month_arg
from .formatting import date_jp, right, yen
from .usage import _download, month_jp
from .yaml_files import yaml_download, yaml_upload


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class CollectionProfileView(TollbookModelView):
    """収納代行・委託者: one per bank, card company or factoring company that debits members."""

    datamodel = SQLAInterface(CollectionProfile)
    route_base = "/collection-profiles"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_export", "can_download",
                        "can_upload"]
    list_title = export_title = "収納代行・委託者"
    show_title = "収納代行・委託者の詳細"
    add_title = "収納代行・委託者の登録"
    edit_title = "収納代行・委託者の編集"
    list_template = "tollbook/payments_profile_list.html"
    label_columns = {
        "code": "コード", "name": "名称", "kind": "種類", "kind_name": "種類", "requester_code": "委託者コード",
        "requester_name_kana": "委託者名（半角カナ）", "bank_code": "取引銀行コード", "bank_name": "取引銀行名",
        "branch_code": "取引支店コード", "branch_name": "取引支店名", "account_type": "預金種目",
        "account_type_name": "預金種目", "account_number": "口座番号", "debit_day": "振替日（毎月）",
        "separator": "レコード区切り", "customer_number": "顧客番号の形式", "charset": "使用文字",
        "use_new_code": "新規コードを使う", "use_edi": "総合振込でEDI情報を使う", "note": "備考",
        "created_at": "登録日時", "updated_at": "更新日時",
    }
    list_columns = ["code", "name", "kind", "requester_code", "requester_name_kana", "bank_name", "branch_name",
                    "debit_day"]
    show_fieldsets = [
        ("委託者", {"fields": ["code", "name", "kind", "requester_code", "requester_name_kana", "debit_day", "note"]}),
        ("入金口座（取引銀行）", {"fields": ["bank_code", "bank_name", "branch_code", "branch_name",
                                           "account_type_name", "account_number"]}),
        ("全銀ファイルの形式", {"fields": ["separator", "customer_number", "charset", "use_new_code", "use_edi"]}),
    ]
    add_columns = edit_columns = ["code", "name", "kind", "requester_code", "requester_name_kana", "bank_code",
                                  "branch_code", "account_type", "account_number", "debit_day", "separator",
                                  "customer_number", "charset", "use_new_code", "use_edi", "note"]
    search_columns = ["code", "name", "kind", "requester_code"]
    export_columns = ["code", "name", "kind", "requester_code", "requester_name_kana", "bank_code", "bank_name",
                      "branch_code", "branch_name", "account_type_name", "account_number", "debit_day", "separator",
                      "customer_number", "charset", "use_new_code", "use_edi", "note"]
    base_order = ("code", "asc")
    description_columns = {
        "code": "半角英数字。口座振替データを作るコマンドで指定する名前です（例 default）",
        "requester_code": "収納代行・銀行から通知された10桁以内の数字",
        "requester_name_kana": "全角・ひらがなでも入力できます。全銀の半角カナに変換します（株式会社 → ｶ) など）",
        "bank_code": "集金した代金が入金される口座の銀行（4桁）。銀行名・支店名は全銀協のコードから入ります",
        "debit_day": "空欄なら運営者設定の口座振替日。休日なら翌銀行営業日",
        "separator": "銀行の指定に合わせます（多くは CRLF）",
        "customer_number": "数字: 組合員の内部番号（ゼロ埋め20桁）。文字: 組合員コード",
        "charset": "拡張は ｦ や / などを受け付ける銀行だけ",
        "use_new_code": "初回の振替に 1、口座変更後に 2 を付けます（使わない銀行では 0 のまま）",
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField("種類", choices=list(PROFILE_KINDS.items())),
        "account_type": SelectField("預金種目", choices=[("", "")] + [(str(k), f"{k} {v}")
                                                                    for k, v in HEADER_ACCOUNT_TYPES.items()],
                                    coerce=_optional_int),
        "separator": SelectField("レコード区切り", choices=list(SEPARATOR_NAMES.items())),
        "customer_number": SelectField("顧客番号の形式", choices=list(CUSTOMER_NUMBER_KINDS.items())),
        "charset": SelectField("使用文字", choices=list(CHARSETS.items())),
        "use_new_code": BooleanField("新規コードを使う"),
        "use_edi": BooleanField("総合振込でEDI情報を使う"),
    }
    formatters_columns = {
        "kind": lambda v: PROFILE_KINDS.get(v, v),
        "separator": lambda v: SEPARATOR_NAMES.get(v, v),
        "customer_number": lambda v: CUSTOMER_NUMBER_KINDS.get(v, v),
        "charset": lambda v: CHARSETS.get(v, v),
    }

    def _export_value(self, item, column):
        names = {"kind": PROFILE_KINDS, "separator": SEPARATOR_NAMES, "customer_number": CUSTOMER_NUMBER_KINDS,
                 "charset": CHARSETS}
        if column in names:
            return names[column].get(getattr(item, column), getattr(item, column))
        return super()._export_value(item, column)

    @staticmethod
    def _checked(item):
        apply_profile_values(item, check_profile({f: getattr(item, f) for f in FIELDS}))

    def pre_add(self, item):
        self._checked(item)

    def pre_update(self, item):
        try:
            self._checked(item)
        except Exception:
            self.datamodel.session.rollback()
            raise

    def pre_delete(self, item):
        ensure_profile_deletable(item)

    @expose("/yaml/")
    @has_access
    def download(self):
        """YAMLで書き出し: every profile, in the form `flask etc collection-profiles import` reads."""
        return yaml_download(export_profiles, "収納代行・委託者")

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        return yaml_upload(self, import_profiles, ProfileImportRefused, title="収納代行・委託者の取込（YAML）",
                           id_prefix="profile",
                           intro="「YAMLで書き出し」で保存したファイル（書式は docs/payments.md）を直して取り込みます。"
                                 "すべてを確認してから一度に更新します。1件でも誤りがあれば何も変更しません。",
                           back_endpoint="CollectionProfileView.list", back_label="収納代行・委託者へ")


def _closed_months() -> list[str]:
    return db.session.scalars(select(BillingRun.month).where(BillingRun.status == CLOSED)
                              .order_by(BillingRun.month.desc())).all()


def debit_panel(month: str) -> dict:
    """What the billing screen of a closed month shows about its debit files: each profile with the members
    it debits and its batches for the month."""
    profiles = all_profiles()
    batches = db.session.scalars(select(DebitBatch).where(DebitBatch.month == month)
                                 .order_by(DebitBatch.profile_id, DebitBatch.number)).all()
    return {"profiles": [(p, members_using(p), [b for b in batches if b.profile_id == p.id]) for p in profiles]}


def batch_status_label(status: str) -> Markup:
    css = {"generated": "label-info", "sent": "label-primary", "result_imported": "label-success",
           "replaced": "label-default"}.get(status, "label-default")
    return Markup('<span class="label {}">{}</span>').format(css, BATCH_STATUSES.get(status, status))


class DebitBatchView(TollbookModelView):
    """口座振替データ: the stored 全銀 files, newest first; generate, download, mark sent; 差し替え (can_replace:
    the 責任者, like the write-off approval) when another file of the month was already sent."""

    datamodel = SQLAInterface(DebitBatch)
    route_base = "/debit-batches"
    base_permissions = ["can_list", "can_show", "can_export", "can_generate", "can_download", "can_send",
                        "can_replace"]
    method_permission_name = {"list": "list", "show": "show", "export": "export", "generate": "generate",
                              "download": "download", "send": "send", "replace": "replace"}
    list_title = export_title = "口座振替データ（全銀）"
    show_title = "口座振替データ"
    label_columns = {"month": "請求月", "profile": "収納代行・委託者", "number": "回", "status": "状態",
                     "status_name": "状態", "debit_date": "引落日", "record_count": "件数", "total_amount": "合計金額",
                     "sha256": "SHA-256", "created_at": "作成日時", "created_by": "作成した人", "sent_at": "送信日時",
                     "sent_by": "送信した人"}
    list_columns = ["month", "profile", "number", "status", "debit_date", "record_count", "total_amount",
                    "created_at"]
    search_columns = ["month", "profile", "status"]
    order_columns = ["month", "number", "created_at"]
    base_order = ("id", "desc")
    export_columns = ["month", "profile", "number", "status_name", "debit_date", "record_count", "total_amount",
                      "sha256", "created_at", "created_by", "sent_at", "sent_by"]
    money_columns = ("total_amount",)
    formatters_columns = {"month": month_jp, "status": batch_status_label, "debit_date": date_jp,
                          "total_amount": lambda v: right(yen(v)), "created_at": date_jp,
                          "number": lambda v: f"第{v}回"}

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        batch = db.session.get(DebitBatch, int(pk)) if str(pk).isdigit() else None
        if batch is None:
            abort(404)
        preview = show_records(bytes(batch.content), 4)
        delivered = delivered_batches(batch) if batch.status == GENERATED else []
        return self.render_template("tollbook/payments_debit_batch.html", batch=batch, excluded=batch_excluded(batch),
                                    preview=preview, csrf_token=generate_csrf, yen=yen, date_jp=date_jp,
                                    month_jp=month_jp, status_label=batch_status_label, delivered=delivered,
                                    warning=delivered_warning(batch, delivered), replaced=replaced_batches(batch),
                                    replaceable=bool(delivered) and all(b.status == SENT for b in delivered),
                                    can_send=_can("can_send", "DebitBatchView"),
                                    can_replace=_can("can_replace", "DebitBatchView"))

    @expose("/generate", methods=["POST"])
    @has_access
    def generate(self):
        month_text = (request.form.get("month") or "").strip()
        code = (request.form.get("profile") or "").strip() or None
        try:
            month = str(Month.parse(month_text, "請求月"))
            result = generate_debit_file(month, code)
        except DomainError as error:
            flash(Markup("<br>").join(line for line in error.message.split("\n") if line.strip()), "danger")
            back = request.form.get("back")
            return redirect(back if back and back.startswith("/") and not back.startswith("//")
                            else url_for("DebitBatchView.list"))
        batch = result.batch
        if result.created:
            flash(f"口座振替データ 第{batch.number}回を作成しました（{batch.record_count:,}件、{batch.total_amount:,}円）。",
                  "success")
        else:
            flash(f"請求書に変更がないため、作成済みの第{batch.number}回と同じ内容です（新しい回は作っていません）。", "info")
        if result.warning:
            flash(Markup("<br>").join(result.warning.split("\n")), "danger")
        if result.excluded:
            flash(f"0円・貸方のため対象外: {len(result.excluded):,}件（下の一覧）。", "warning")
        return redirect(url_for("DebitBatchView.show", pk=batch.id))

    @expose("/download/<int:pk>")
    @has_access
    def download(self, pk):
        batch = db.session.get(DebitBatch, pk)
        if batch is None:
            abort(404)
        return _download(bytes(batch.content), batch.file_name, "application/octet-stream")

    @expose("/send/<int:pk>", methods=["POST"])
    @has_access
    def send(self, pk):
        try:
            batch = mark_sent(pk)
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("DebitBatchView.show", pk=pk))
        flash(f"{batch} を送信済にしました。", "success")
        return redirect(url_for("DebitBatchView.show", pk=pk))

    @expose("/replace/<int:pk>", methods=["POST"])
    @has_access
    def replace(self, pk):
        """差し替えとして送信済にする: the collector took this file in place of the sent one (reason required)."""
        try:
            batch = mark_sent(pk, replace=True, reason=request.form.get("reason", ""))
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("DebitBatchView.show", pk=pk))
        old = "、".join(f"第{b.number}回" for b in replaced_batches(batch))
        flash(f"{batch} を差し替えとして送信済にしました（{old}は差し替え済です。その振替結果は取り込めません）。", "success")
        return redirect(url_for("DebitBatchView.show", pk=pk))


# ---- 自動振替一覧表・振込一覧表 --------------------------------------------------------------------------

def _xlsx_download(write, name: str, endpoint: str):
    """write(month, path) for the month asked (a closed one) → 「<name>_YYYY-MM.xlsx」, or back with the refusal."""
    month = _month_arg(_closed_months())
    try:
        with tempfile.TemporaryDirectory(prefix="tollbook-list-") as folder:
            path = Path(folder) / "list.xlsx"
            write(month, path)
            body = path.read_bytes()
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for(endpoint, month=month or None))
    return _download(body, f"{name}_{month}.xlsx")


class PaymentListView(BaseView):
    """自動振替一覧表 (per collection profile) and 振込一覧表 of a closed month, on screen and as Excel."""

    route_base = "/payments/lists"
    default_view = "debit_list"
    base_permissions = ["can_list", "can_download"]
    method_permission_name = {"debit_list": "list", "transfer_list": "list", "debit_download": "download",
                              "transfer_download": "download"}

    def _page(self, kind: str, title: str, sections_of, money, headers):
        months = _closed_months()
        month = _month_arg(months)
        sections, error = [], None
        if month:
            try:
                sections = sections_of(month)
            except DomainError as refused:
                error = refused.message
        return self.render_template("tollbook/payments_list.html", title=title, kind=kind, month=month, months=months,
                                    sections=sections, headers=headers, money=set(money), error=error, yen=yen,
                                    date_jp=date_jp, month_jp=month_jp)

    @expose("/debit/")
    @has_access
    def debit_list(self):
        return self._page("debit", "自動振替一覧表",
                          lambda m: [(f"{p.code} {p.name}", rows) for p, rows in debit_list_sections(m)],
                          DEBIT_MONEY, debit_list_headers())

    @expose("/transfer/")
    @has_access
    def transfer_list(self):
        return self._page("transfer", "振込一覧表", lambda m: [("", transfer_list_rows(m))], TRANSFER_MONEY,
                          transfer_list_headers())


    @expose("/debit/download/")
    @has_access
    def debit_download(self):
        return _xlsx_download(export_debit_list, "自動振替一覧表", "PaymentListView.debit_list")

    @expose("/transfer/download/")
    @has_access
    def transfer_download(self):
        return _xlsx_download(export_transfer_list, "振込一覧表", "PaymentListView.transfer_list")


# ---- 振替結果・振込入金 ----------------------------------------------------------------------------------

class DebitResultView(BaseView):
    """振替結果の取込: upload the bank's result file; the imports made so far with their failures."""

    route_base = "/payments/debit-results"
    default_view = "index"
    base_permissions = ["can_list", "can_upload"]
    method_permission_name = {"index": "list", "show": "list", "upload": "upload"}

    def _page(self, summary=None, refused=None, status=200):
        imports = db.session.scalars(select(DebitResultImport).order_by(DebitResultImport.id.desc()).limit(50)).all()
        return self.render_template("tollbook/payments_debit_results.html", imports=imports, summary=summary,
                                    refused=refused, csrf_token=generate_csrf, yen=yen, date_jp=date_jp,
                                    month_jp=month_jp, failed=summary.failed if summary else [],
                                    can_upload=_can("can_upload", "DebitResultView")), status

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        row = db.session.get(DebitResultImport, pk)
        if row is None:
            abort(404)
        return self.render_template("tollbook/payments_debit_result.html", row=row, failed=failed_debits(row), yen=yen,
                                    date_jp=date_jp, month_jp=month_jp)

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("取り込む振替結果ファイルを選んでください。", "warning")
            return redirect(url_for("DebitResultView.index"))
        try:
            summary = import_debit_result(upload.stream, display_name(upload.filename))
        except ResultFileRefused as refused:
            return self._page(refused=refused, status=400)
        except DomainError as error:
            return self._page(refused=error, status=400)
        flash(str(summary), "success")
        return self._page(summary=summary)


class TransferReceiptView(BaseView):
    """振込入金: transfers received (typed in or from a CSV), each with suggested invoices, matched by staff."""

    route_base = "/payments/transfers"
    default_view = "index"
    base_permissions = ["can_list", "can_add", "can_upload", "can_match"]
    method_permission_name = {"index": "list", "add": "add", "upload": "upload", "match": "match"}

    @expose("/")
    @has_access
    def index(self):
        receipts = open_receipts()
        matched = db.session.scalars(select(Payment).where(Payment.method == "transfer")
                                     .order_by(Payment.id.desc()).limit(30)).all()
        return self.render_template("tollbook/payments_transfers.html", receipts=receipts,
                                    suggestions=suggestions_for(receipts), matched=matched, csrf_token=generate_csrf,
                                    yen=yen, date_jp=date_jp, month_jp=month_jp, form=request.args,
                                    can_edit=_can("can_match", "TransferReceiptView"))

    @expose("/add", methods=["POST"])
    @has_access
    def add(self):
        try:
            receipt = add_transfer(request.form.get("received_on"), request.form.get("payer_kana"),
                                   request.form.get("amount"))
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"{receipt} を登録しました。", "success")
        return redirect(url_for("TransferReceiptView.index"))

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("取り込むCSVファイルを選んでください。", "warning")
            return redirect(url_for("TransferReceiptView.index"))
        try:
            flash(import_transfer_csv(upload.stream, display_name(upload.filename)), "success")
        except TransferImportRefused as refused:
            flash(Markup("<br>").join([refused.message, *refused.errors[:50]]), "danger")
        except DomainError as error:
            flash(error.message, "danger")
        return redirect(url_for("TransferReceiptView.index"))

    @expose("/match/<int:pk>", methods=["POST"])
    @has_access
    def match(self, pk):
        invoice_id = request.form.get("invoice_id", "")
        try:
            payment = match_transfer(pk, int(invoice_id) if invoice_id.isdigit() else 0)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"{payment} を請求書 {payment.invoice.number}（{payment.member.code} {payment.member.name}）に消し込みました。",
                  "success")
            if str(payment.invoice_id) != invoice_id:
                _, why = paying_invoice(db.session.get(Invoice, int(invoice_id)))
                flash(f"{'、'.join(why)}。そのため請求書 {payment.invoice.number} の入金として記録しました"
                      f"（{payment.invoice.number} の入金状況: {receivable_of(payment.invoice_id).state_name}）。", "warning")
        return redirect(url_for("TransferReceiptView.index"))


# ---- 未収一覧・償却 ---------------------------------------------------------------------------------------

class UnpaidView(BaseView):
    """未収一覧: a closed month's invoices with something unpaid, with ageing; write-offs asked by staff and
    decided by the 責任者 (can_approve)."""

    route_base = "/payments/unpaid"
    default_view = "index"
    base_permissions = ["can_list", "can_download", "can_request", "can_approve"]
    method_permission_name = {"index": "list", "download": "download", "request_write_off": "request",
                              "decide": "approve", "reconciled": "request"}

    @expose("/")
    @has_access
    def index(self):
        months = _closed_months()
        month = _month_arg(months)
        rows, summary = unpaid_list(month) if month else ([], [])
        invoices = {r[2]: r for r in rows[:-1]}
        ids = dict(db.session.execute(select(Invoice.number, Invoice.id).where(Invoice.number.in_(list(invoices)))).all()) \
            if invoices else {}
        return self.render_template("tollbook/payments_unpaid.html", month=month, months=months, rows=rows,
                                    summary=summary, headers=unpaid_list_headers(), money=set(UNPAID_MONEY),
                                    invoice_ids=ids, pending=pending_write_offs(), csrf_token=generate_csrf, yen=yen,
                                    run=db.session.scalar(select(BillingRun).where(BillingRun.month == month)),
                                    date_jp=date_jp, month_jp=month_jp,
                                    can_request=_can("can_request", "UnpaidView"),
                                    can_approve=_can("can_approve", "UnpaidView"))

    @expose("/download/")
    @has_access
    def download(self):
        return _xlsx_download(export_unpaid_list, "未収一覧", "UnpaidView.index")

    @expose("/write-off/<int:invoice_id>", methods=["POST"])
    @has_access
    def request_write_off(self, invoice_id):
        try:
            write_off = request_write_off(invoice_id, request.form.get("reason", ""))
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"請求書 {write_off.invoice.number} の未収 {write_off.amount:,}円の償却を依頼しました。"
                  "責任者の承認を待っています。", "success")
        return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                        else url_for("UnpaidView.index"))

    @expose("/reconciled/<month>", methods=["POST"])
    @has_access
    def reconciled(self, month):
        try:
            run = complete_transfer_reconciliation(month)
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("UnpaidView.index"))
        flash(f"{month_jp(run.month)}の振込の消込を完了にしました。未入金の振込は次の請求処理で前月未収額として繰り越します。",
              "success")
        return redirect(url_for("UnpaidView.index", month=run.month))

    @expose("/decide/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        approve = request.form.get("decision") == "approve"
        try:
            write_off = decide_write_off(pk, approve)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"請求書 {write_off.invoice.number} の償却（{write_off.amount:,}円）を"
                  + ("承認しました。次の請求書へは繰り越しません。" if approve else "却下しました。"), "success")
        return redirect(url_for("UnpaidView.index"))


# ---- 代理店手数料 ---------------------------------------------------------------------------------------

def _check_commission_rule(item):
    from decimal import Decimal

    from app.domain.agency_commission import CommissionRule

    if item.agency is None and item.agency_id is None:
        raise DomainError("代理店を選んでください。", "agency")
    if item.valid_from is None:
        raise DomainError("適用開始日を入力してください。", "valid_from")
    CommissionRule("", item.basis or "", item.valid_from, item.valid_to,
                   Decimal(item.rate) if item.rate is not None else None, item.amount)


class AgencyCommissionRuleView(TollbookModelView):
    """代理店手数料の規則: effective-dated, per agency."""

    datamodel = SQLAInterface(AgencyCommissionRule)
    route_base = "/agency-commission-rules"
    list_title = export_title = "代理店手数料の規則"
    show_title = "代理店手数料の規則"
    add_title = "代理店手数料の規則の追加"
    edit_title = "代理店手数料の規則の編集"
    label_columns = {"agency": "代理店", "basis": "計算方法", "rate": "率（例 0.05 ＝ 5パーセント）", "amount": "カード1枚あたり（円）",
                     "valid_from": "適用開始日", "valid_to": "適用終了日", "note": "備考"}
    list_columns = ["agency", "basis", "rate", "amount", "valid_from", "valid_to", "note"]
    add_columns = edit_columns = show_columns = ["agency", "basis", "rate", "amount", "valid_from", "valid_to", "note"]
    search_columns = ["agency", "basis", "valid_from"]
    base_order = ("valid_from", "asc")
    description_columns = {"basis": "利用額（通行料金）の率・手数料の率・カード1枚あたりの月額",
                           "valid_to": "空欄なら期限なし。改定するときは古い規則に終了日を入れ、新しい規則を追加します"}
    add_form_extra_fields = edit_form_extra_fields = {
        "basis": SelectField("計算方法", choices=list(COMMISSION_BASES.items())),
    }
    formatters_columns = {"basis": lambda v: COMMISSION_BASES.get(v, v)}

    def pre_add(self, item):
        _check_commission_rule(item)

    def pre_update(self, item):
        try:
            _check_commission_rule(item)
        except Exception:
            self.datamodel.session.rollback()
            raise


class AgencyCommissionView(BaseView):
    """代理店手数料一覧 of a closed month (Excel), and its 総合振込 file."""

    route_base = "/payments/agency-commissions"
    default_view = "index"
    base_permissions = ["can_list", "can_download"]
    method_permission_name = {"index": "list", "download": "download", "transfer": "download"}

    @expose("/")
    @has_access
    def index(self):
        months = _closed_months()
        month = _month_arg(months)
        rows, error = [], None
        if month:
            try:
                rows = commission_list_rows(month)
            except DomainError as refused:
                error = refused.message
        return self.render_template("tollbook/payments_agency_commissions.html", month=month, months=months,
                                    rows=rows, headers=commission_list_headers(), money=set(COMMISSION_MONEY),
                                    error=error, profiles=all_profiles(), yen=yen, date_jp=date_jp, month_jp=month_jp)

    @expose("/download/")
    @has_access
    def download(self):
        return _xlsx_download(export_commission_list, "代理店手数料一覧", "AgencyCommissionView.index")

    @expose("/transfer/")
    @has_access
    def transfer(self):
        from app.domain.japanese_date import parse_date_input

        month = _month_arg(_closed_months())
        try:
            day = parse_date_input(request.args.get("date", ""))
            data, _, _ = agency_transfer_file(month, day, request.args.get("profile") or None)
        except DomainError as error:
            flash(Markup("<br>").join(line for line in error.message.split("\n") if line.strip()), "danger")
            return redirect(url_for("AgencyCommissionView.index", month=month))
        return _download(data, f"agency-transfer_{month}_{day:%Y%m%d}.txt", "application/octet-stream")
