"""走行明細の画面: 取込一覧, 明細一覧, 紛失後利用, 未登録カード.

The usage table holds tens of millions of rows, so no screen here lists it through a plain FAB
ModelView (which runs an unfiltered count() on every page). 明細一覧 and 紛失後利用 are our own
views: every query names the month (usage_month = …, or IN the active months), which the usage
indexes (usage_month, member_id / card_id / flags) serve; pages are read by keyset (id > last id,
LIMIT 51), so page 1,000 costs what page 1 costs. The count shown is the month's total from the
batch rows (import_batch.row_count, no scan) or, with a filter, a count inside that month.
"""
import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import and_, func, or_, select

from app.domain.card_number import format_card_number
from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.domain.month import Month
from app.domain.vehicle_class import VEHICLE_CLASSES
from app.domain.plate import squash_plate
from app.domain.usage_format import fits_mask, is_masked, plate_serial_of
from app.exports.excel import workbook_bytes
from app.extensions import db
from app.labels import actor_label, member_term
from app.models import Card, CardEvent, Member, Vehicle
from app.models.usage import (BATCH_ACTIVE, BATCH_STATUSES, FLAG_NAMES, FLAG_OFF_MONTH, FLAG_SUSPECTED_DUPLICATE,
                              FLAG_UNREGISTERED_CARD, FLAG_USED_AFTER_LOSS, IcMaster, ImportBatch, UsageRecord)
from app.services.usage_export import EXCEL_MAX_ROWS, HEADERS, MONEY, flag_text, usage_query
from app.services.usage_import import delete_batch
from app.services.road_operators import set_ic_operator, unknown_operator_ics
from app.services.usage_duplicates import twins_of
from app.services.usage_review import confirm_rows
from app.services.usage_rematch import (active_months, assign_unregistered, closed_months, flag_values,
                                        open_months)

from .base import XLSX, TollbookModelView
from .formatting import date_jp, right, yen

PAGE_SIZE = 50
FLAG_CHOICES = {"unregistered": FLAG_UNREGISTERED_CARD, "after_loss": FLAG_USED_AFTER_LOSS,
                "duplicate": FLAG_SUSPECTED_DUPLICATE, "off_month": FLAG_OFF_MONTH}


def month_jp(month) -> str:
    """'2026-10' → '2026年10月'."""
    try:
        return Month.parse(month).label if month else ""
    except DomainError:
        return str(month)


def _download(body: bytes, name: str, mimetype: str = XLSX) -> Response:
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _int_arg(name: str) -> int | None:
    value = (request.args.get(name) or "").strip()
    return int(value) if value.isdigit() else None


# ---- 取込一覧 -------------------------------------------------------------------------------------

def _batch_rows_link(batch_id, text):
    return Markup('<a href="{}">{}</a>').format(url_for("UsageRecordView.list", batch=batch_id), text)


class ImportBatchView(TollbookModelView):
    """取込: one row per received file, newest first. Read only; 削除 goes through delete_batch
    (rows removed, the batch row kept as 削除済), refused once the month is closed."""

    datamodel = SQLAInterface(ImportBatch)
    base_permissions = ["can_list", "can_show", "can_delete", "can_export"]
    list_title = export_title = "取込一覧"
    show_title = "取込の詳細"
    list_template = "tollbook/usage_batch_list.html"
    label_columns = {
        "id": "取込番号", "file_name": "ファイル名", "sha256": "SHA-256", "profile": "取込形式",
        "usage_month": "利用月", "row_count": "件数", "total_billed": "通行料金合計", "flagged_count": "要確認（取込時）",
        "status": "状態", "status_name": "状態", "replaces_batch": "差し替えた取込", "imported_by": "取込者",
        "imported_at": "取込日時", "rows_link": "走行明細", "attention_count": "要確認",
    }
    list_columns = ["id", "imported_at", "file_name", "profile", "usage_month", "row_count", "total_billed",
                    "attention_count", "status_name", "imported_by"]
    show_columns = ["id", "file_name", "sha256", "profile", "usage_month", "row_count", "total_billed",
                    "attention_count", "flagged_count", "status_name", "replaces_batch", "imported_by", "imported_at"]
    search_columns = ["usage_month", "status", "file_name", "profile", "imported_by", "imported_at"]
    export_columns = ["id", "imported_at", "file_name", "profile.name", "usage_month", "row_count", "total_billed",
                      "flagged_count", "status_name", "imported_by", "sha256"]
    money_columns = ("total_billed",)
    order_columns = ["id", "imported_at", "file_name", "usage_month", "row_count", "total_billed"]
    base_order = ("id", "desc")
    formatters_columns = {
        "id": lambda v: _batch_rows_link(v, f"#{v}"),
        "row_count": lambda v: right(f"{v or 0:,}件"),
        "total_billed": lambda v: right(yen(v or 0)),
        "flagged_count": lambda v: right(f"{v or 0:,}件"),
        "attention_count": lambda v: right(f"{v or 0:,}件"),
        "imported_by": actor_label,
        "imported_at": date_jp,
        "usage_month": month_jp,
        "status": lambda v: BATCH_STATUSES.get(v, v),
    }

    def _export_value(self, item, column):
        if column == "profile.name":
            return item.profile.name if item.profile else ""
        return super()._export_value(item, column)

    def delete_question(self, row: dict) -> str:
        return (f"取込#{row.get('id')}（{row.get('file_name')}・{month_jp(row.get('usage_month'))}分・"
                f"{row.get('row_count') or 0:,}件）の走行明細を削除します。取込の記録は「削除済」として残ります。よろしいですか？")

    def _delete(self, pk):
        batch = self.datamodel.get(pk)
        if batch is None:
            abort(404)
        try:
            deleted = delete_batch(batch.id)
        except DomainError as error:
            if batch.status == BATCH_ACTIVE:
                flash(f"取込#{batch.id} は削除できません: {error.message}", "danger")
            else:
                flash(f"取込#{batch.id} は{batch.status_name()}のため削除できません。", "danger")
            return
        flash(f"取込#{deleted.id}（{deleted.file_name}）の走行明細 {deleted.row_count:,}件を削除しました。"
              "取込の記録は「削除済」として残ります。", "success")


# ---- 明細一覧 / 紛失後利用 --------------------------------------------------------------------------

@dataclass
class UsageFilter:
    months: list[str]
    month: str = ""  # "" = every month in `months` (alerts)
    member_id: int | None = None
    card: str = ""
    card_id: int | None = None
    flag: str = ""
    batch_id: int | None = None
    problems: list[str] = field(default_factory=list)

    def conditions(self):
        months = [self.month] if self.month else self.months
        active = select(ImportBatch.id).where(ImportBatch.status == BATCH_ACTIVE,
                                              ImportBatch.usage_month.in_(months))
        conds = [UsageRecord.usage_month.in_(months) if len(months) != 1 else UsageRecord.usage_month == months[0],
                 UsageRecord.batch_id.in_(active)]
        if self.member_id:
            conds.append(UsageRecord.member_id == self.member_id)
        if self.card_id:
            conds.append(UsageRecord.card_id == self.card_id)
        elif self.card:
            conds.append(UsageRecord.card_number == self.card)
        if self.flag in FLAG_CHOICES:
            conds.append(UsageRecord.flags.in_(flag_values(FLAG_CHOICES[self.flag])))
        if self.batch_id:
            conds.append(UsageRecord.batch_id == self.batch_id)
        return conds

    def narrowed(self) -> bool:
        return bool(self.member_id or self.card or self.flag or self.batch_id)

    def args(self, **extra) -> dict:
        values = {"month": self.month, "member": self.member_id or "", "card": self.card, "flag": self.flag,
                  "batch": self.batch_id or ""}
        values.update(extra)
        return {k: v for k, v in values.items() if v not in ("", None)}


def _after(exit_at, row_id):
    return or_(UsageRecord.exit_at > exit_at, and_(UsageRecord.exit_at == exit_at, UsageRecord.id > row_id))


def _before(exit_at, row_id):
    return or_(UsageRecord.exit_at < exit_at, and_(UsageRecord.exit_at == exit_at, UsageRecord.id < row_id))


class _UsageListView(BaseView):
    """Shared by 明細一覧 and 紛失後利用: filter from the query string, keyset pages, Excel export."""

    default_view = "list"
    template = "tollbook/usage_records.html"
    title = ""
    description = ""
    forced_flag = ""
    all_months_allowed = False
    check = None  # {"flag": bit, "button": label, "done": message}: rows staff confirm one by one

    def _filter(self) -> UsageFilter:
        months = active_months()
        f = UsageFilter(months=months)
        month = (request.args.get("month") or "").strip()
        f.batch_id = _int_arg("batch")
        if month:
            try:
                month = str(Month.parse(month, "利用月"))
            except DomainError as error:
                f.problems.append(error.message)
                month = ""
        if not month and f.batch_id:
            batch = db.session.get(ImportBatch, f.batch_id)
            month = batch.usage_month if batch is not None else ""
        if not month and not self.all_months_allowed:
            month = months[0] if months else ""
        f.month = month
        f.member_id = _int_arg("member")
        card = re.sub(r"[\s\-]", "", request.args.get("card") or "")
        if card:
            if not card.replace("*", "").isdigit():  # * : a masked number as ETC利用照会 shows it
                f.problems.append(f"カード番号「{request.args.get('card')}」は数字で入力してください。")
            else:
                f.card = card
                f.card_id = db.session.scalar(select(Card.id).where(Card.number == card))
        f.flag = self.forced_flag or (request.args.get("flag") if request.args.get("flag") in FLAG_CHOICES else "")
        return f

    def _rows_query(self, f: UsageFilter):
        return (select(UsageRecord.id, UsageRecord.usage_month, UsageRecord.exit_at, UsageRecord.entry_at,
                       UsageRecord.entry_ic, UsageRecord.exit_ic, UsageRecord.card_number, UsageRecord.card_id,
                       Member.code, Member.name, UsageRecord.vehicle_class, UsageRecord.amount_before_discount,
                       UsageRecord.discount, UsageRecord.amount_billed, UsageRecord.plate, UsageRecord.remarks,
                       UsageRecord.flags, UsageRecord.batch_id, UsageRecord.line_no)
                .outerjoin(Member, Member.id == UsageRecord.member_id)
                .where(*f.conditions()))

    def _page(self, f: UsageFilter):
        """A page in date order (exit date-time, then row id): keyset by the row at the page's edge
        (?after=id / ?before=id: one index range, however deep the page), or ?page=N for a jump."""
        after, before, number = _int_arg("after"), _int_arg("before"), _int_arg("page")
        query = self._rows_query(f)
        key = (UsageRecord.exit_at, UsageRecord.id)
        anchor_id = before or after
        anchor = db.session.scalar(select(UsageRecord.exit_at).where(UsageRecord.id == anchor_id)) if anchor_id else None
        if before and anchor is not None:
            rows = db.session.execute(query.where(_before(anchor, before)).order_by(*(k.desc() for k in key))
                                      .limit(PAGE_SIZE + 1)).all()
            has_prev, has_next = len(rows) > PAGE_SIZE, True
            rows = list(reversed(rows[:PAGE_SIZE]))
        elif after and anchor is not None:
            rows = db.session.execute(query.where(_after(anchor, after)).order_by(*key).limit(PAGE_SIZE + 1)).all()
            has_prev, has_next = True, len(rows) > PAGE_SIZE
            rows = rows[:PAGE_SIZE]
        else:
            offset = (number - 1) * PAGE_SIZE if number and number > 1 else 0
            rows = db.session.execute(query.order_by(*key).offset(offset).limit(PAGE_SIZE + 1)).all()
            has_prev, has_next = offset > 0, len(rows) > PAGE_SIZE
            rows = rows[:PAGE_SIZE]
        return rows, has_prev, has_next

    def _page_number(self, f: UsageFilter, rows) -> int:
        """Which page this is: the rows before the page's first row, counted through the same index."""
        if not rows:
            return 1
        first = rows[0]
        earlier = db.session.scalar(select(func.count()).select_from(UsageRecord)
                                    .where(*f.conditions(), _before(first.exit_at, first.id)))
        return int(earlier) // PAGE_SIZE + 1

    def _totals(self, f: UsageFilter) -> tuple[int, int]:
        """(rows, 通行料金合計): from the batch rows when nothing narrows the month, else counted
        inside the month (the month condition is always there: never a full-table count)."""
        months = [f.month] if f.month else f.months
        if not f.narrowed():
            count, total = db.session.execute(
                select(func.coalesce(func.sum(ImportBatch.row_count), 0),
                       func.coalesce(func.sum(ImportBatch.total_billed), 0))
                .where(ImportBatch.status == BATCH_ACTIVE, ImportBatch.usage_month.in_(months))).one()
            return int(count), int(total)
        count, total = db.session.execute(
            select(func.count(), func.coalesce(func.sum(UsageRecord.amount_billed), 0))
            .select_from(UsageRecord).where(*f.conditions())).one()
        return int(count), int(total)

    def _stops(self, rows) -> dict[int, dt.date]:
        ids = {row.card_id for row in rows if row.card_id}
        if not ids:
            return {}
        return dict(db.session.execute(
            select(CardEvent.card_id, func.min(CardEvent.occurred_on))
            .where(CardEvent.card_id.in_(ids), CardEvent.kind.in_(("loss", "cancel")))
            .group_by(CardEvent.card_id)).all())

    def _page_extras(self, rows) -> dict:
        """What a view adds to each page (紛失・解約日, the other trip of a 重複の疑い …)."""
        return {"stops": self._stops(rows)} if self.forced_flag == "after_loss" else {}

    def _render_list(self):
        f = self._filter()
        for problem in f.problems:
            flash(problem, "warning")
        rows, has_prev, has_next, count, total, extra, page = [], False, False, 0, 0, {}, 1
        if f.months and (f.month or self.all_months_allowed):
            rows, has_prev, has_next = self._page(f)
            count, total = self._totals(f)
            extra = self._page_extras(rows)
            page = self._page_number(f, rows) if has_prev else 1
        members = db.session.execute(select(Member.id, Member.code, Member.name).order_by(Member.code)).all()
        batches = db.session.execute(
            select(ImportBatch.id, ImportBatch.file_name).where(ImportBatch.status == BATCH_ACTIVE,
                                                                ImportBatch.usage_month == f.month)
            .order_by(ImportBatch.id)).all() if f.month else []
        endpoint = f"{self.__class__.__name__}.list"
        return self.render_template(
            self.template, title=self.title, f=f, rows=rows, count=count, total=total,
            stops=extra.get("stops", {}), twins=extra.get("twins", {}), check=self.check,
            confirm_url=url_for(f"{self.__class__.__name__}.confirm") if self.check else None,
            csrf_token=generate_csrf, open_now=set(open_months()),
            members=members, batches=batches, has_prev=has_prev, has_next=has_next,
            prev_url=url_for(endpoint, **f.args(before=rows[0].id)) if has_prev and rows else None,
            next_url=url_for(endpoint, **f.args(after=rows[-1].id)) if has_next and rows else None,
            first_url=url_for(endpoint, **f.args()), page=page, pages=max(1, -(-count // PAGE_SIZE)),
            page_url=lambda n: url_for(endpoint, **f.args(page=n)),
            export_url=url_for(f"{self.__class__.__name__}.export", **f.args()),
            list_url=url_for(endpoint), alerts=bool(self.forced_flag), closed=closed_months(),
            description=self.description,
            flag_names=FLAG_NAMES, flag_text=flag_text, month_jp=month_jp, yen=yen, date_jp=date_jp,
            member_label=member_term(), page_size=PAGE_SIZE, card_text=format_card_number,
            vehicle_class_name=lambda code: VEHICLE_CLASSES.get(code, code or ""))

    def _export(self):
        f = self._filter()
        if not f.months or not (f.month or self.all_months_allowed):
            flash("出力する走行明細がありません。", "warning")
            return redirect(url_for(f"{self.__class__.__name__}.list", **f.args()))
        if self._totals(f)[0] > EXCEL_MAX_ROWS:  # the month's count (cheap) before any row is written
            flash(f"明細が Excel の行数上限（{EXCEL_MAX_ROWS:,}行）を超えます。"
                  f"{member_term()}・カードなどで絞り込んでから出力してください。", "danger")
            return redirect(url_for(f"{self.__class__.__name__}.list", **f.args()))
        months = [f.month] if f.month else f.months

        def queries():  # month by month: usage_query names one month, which the indexes serve
            for month in months:
                one = UsageFilter(months=[month], month=month, member_id=f.member_id, card=f.card,
                                  card_id=f.card_id, flag=f.flag, batch_id=f.batch_id)
                yield usage_query(month).where(*one.conditions()[1:])

        count = 0

        def rows():
            nonlocal count
            for query in queries():
                for row in db.session.execute(query.execution_options(yield_per=5000)):
                    count += 1
                    if count > EXCEL_MAX_ROWS:
                        raise DomainError(f"明細が Excel の行数上限（{EXCEL_MAX_ROWS:,}行）を超えます。"
                                          f"{member_term()}・カードなどで絞り込んでから出力してください。")
                    values = list(row)
                    values[15] = flag_text(values[15])
                    yield values

        title = f"{self.title} {f.month}" if f.month else self.title
        try:
            body = workbook_bytes([(title, HEADERS, rows(), MONEY)])
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for(f"{self.__class__.__name__}.list", **f.args()))
        name = f"{self.title}_{f.month or 'all'}_{today_jst():%Y%m%d}.xlsx"
        return _download(body, name)


class UsageRecordView(_UsageListView):
    """明細一覧: one month's rows of active batches (default: the latest such month)."""

    route_base = "/usage/records"
    title = "走行明細一覧"

    @expose("/")
    @has_access
    def list(self):
        return self._render_list()

    @expose("/export/")
    @has_access
    def export(self):
        return self._export()


class _FlaggedUsageView(_UsageListView):
    """Rows with one flag, every month with active batches unless one is chosen (flags IN (…)
    within those months: ix_usage_flags)."""

    all_months_allowed = True

    @expose("/")
    @has_access
    def list(self):
        return self._render_list()

    @expose("/export/")
    @has_access
    def export(self):
        return self._export()


class UsageAlertView(_FlaggedUsageView):
    """紛失後利用: rows used on or after the card's loss / cancellation date."""

    route_base = "/usage/alerts"
    title = "紛失後利用"
    description = "紛失・盗難または解約の日以降に使われた走行明細です。カードの不正利用や、異動の登録漏れがないか確認してください。"
    forced_flag = "after_loss"


class _UsageCheckView(_FlaggedUsageView):
    """Rows kept out of billing until staff look at them (NOT_BILLED_FLAGS); 確認 (rows of open months
    only) clears the flag and sets 確認済 (app.services.usage_review)."""

    @expose("/confirm/", methods=["POST"])
    @has_access
    def confirm(self):
        ids = [int(v) for v in request.form.getlist("row") if v.isdigit()]
        try:
            done = confirm_rows(ids, self.check["flag"])
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"{self.title}の明細 {done:,}件を確認済みにしました。{self.check['done']}", "success")
        return redirect(request.referrer or url_for(f"{self.__class__.__name__}.list"))


class DuplicateUsageView(_UsageCheckView):
    """重複の疑い: rows repeating a trip of another live batch; not billed until confirmed."""

    route_base = "/usage/duplicates"
    title = "重複の疑い"
    description = ("カード番号・出口の日時・出口IC・通行料金が、別の取込の明細と同じ走行明細です（同じ走行が2つのファイルで"
                   "届いたとき）。請求には含めていません。「同じ走行の明細」を確かめ、本当に別の走行なら「別の走行として請求する」を"
                   "押してください。同じファイルが二重に届いただけなら、その取込を削除してください。")
    forced_flag = "duplicate"
    check = {"flag": FLAG_SUSPECTED_DUPLICATE, "button": "別の走行として請求する", "done": "請求に含まれます。"}

    def _page_extras(self, rows) -> dict:
        return {"twins": twins_of(db.session, rows)}


class OffMonthUsageView(_UsageCheckView):
    """期ずれ: rows dated more than one month away from their file's month; not billed until accepted."""

    route_base = "/usage/off-month"
    title = "期ずれ"
    description = ("ファイルの利用月から1か月より離れた日付の走行明細です（例: 10月分のファイルにある8月の走行）。"
                   "請求には含めていません。その月の請求に含めてよい明細は「この月で請求する」を押してください。"
                   "別の月の明細なら、取込を削除して正しい利用月で取り込み直してください。")
    forced_flag = "off_month"
    check = {"flag": FLAG_OFF_MONTH, "button": "この月で請求する", "done": "取込の利用月で請求されます。"}


# ---- 道路事業者不明 -------------------------------------------------------------------------------

class UnknownOperatorView(BaseView):
    """道路事業者不明: rows of open months without a road operator, grouped by IC name; staff name the
    operator (and 地域区分) once per IC: saved to the IC master, rows resolved (services/road_operators.py)."""

    route_base = "/usage/unknown-operators"
    default_view = "list"
    method_permission_name = {"list": "list", "set_operator": "edit"}

    @expose("/")
    @has_access
    def list(self):
        known = sorted({op for op in db.session.scalars(select(IcMaster.road_operator).distinct()) if op}
                       | set(KNOWN_OPERATORS))
        return self.render_template("tollbook/usage_unknown_operators.html", groups=unknown_operator_ics(),
                                    known=known, yen=yen, month_jp=month_jp, csrf_token=generate_csrf)

    @expose("/set/", methods=["POST"])
    @has_access
    def set_operator(self):
        name = request.form.get("ic_name") or ""
        operator = (request.form.get("road_operator") or "").strip()
        try:
            rows = set_ic_operator(name, operator, request.form.get("region") or "")
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(f"{name} の道路事業者を「{operator}」としてICマスタに登録し、走行明細 {rows:,}件に入れました。", "success")
        return redirect(url_for("UnknownOperatorView.list"))


# The operators of the shipped IC master (app/data/ic_master.csv) and tariff: offered on the form.
KNOWN_OPERATORS = ("NEXCO東日本", "NEXCO中日本", "NEXCO西日本", "首都高速道路", "阪神高速道路", "本州四国連絡高速道路")


# ---- 未登録カード -----------------------------------------------------------------------------------

GROUP_PAGE = 50


class UnregisteredCardView(BaseView):
    """未登録カード: per card number, the flagged rows of active batches in months not yet closed
    (closed months never change, so there is nothing to do for them). Actions: カードを登録
    (the card form with the number filled in; saving it links the rows) or このカードに割り当て."""

    route_base = "/usage/unregistered"
    default_view = "list"

    def _months(self) -> tuple[list[str], str]:
        months = open_months()
        month = (request.args.get("month") or "").strip()
        if month and month not in months:
            month = ""
        return ([month] if month else months), month

    def _groups(self, months: list[str], offset: int = 0, numbers: list[str] | None = None):
        flagged = UsageRecord.flags.in_(flag_values(FLAG_UNREGISTERED_CARD))
        active = select(ImportBatch.id).where(ImportBatch.status == BATCH_ACTIVE)
        query = (select(UsageRecord.card_number, func.count().label("rows"),
                        func.sum(UsageRecord.amount_billed).label("total"),
                        func.min(UsageRecord.exit_at).label("first"), func.max(UsageRecord.exit_at).label("last"))
                 .where(UsageRecord.usage_month.in_(months), flagged, UsageRecord.batch_id.in_(active))
                 .group_by(UsageRecord.card_number).order_by(func.count().desc(), UsageRecord.card_number))
        if numbers is not None:
            query = query.where(UsageRecord.card_number.in_(numbers))
        else:
            query = query.offset(offset).limit(GROUP_PAGE + 1)
        return db.session.execute(query).all()

    def _plates(self, months, numbers) -> dict[str, list[str]]:
        plates: dict[str, list[str]] = {}
        if not numbers:
            return plates
        for number, plate in db.session.execute(
                select(UsageRecord.card_number, UsageRecord.plate).distinct()
                .where(UsageRecord.usage_month.in_(months), UsageRecord.card_number.in_(numbers),
                       UsageRecord.flags.in_(flag_values(FLAG_UNREGISTERED_CARD)))
                .order_by(UsageRecord.card_number, UsageRecord.plate)):
            if plate:
                plates.setdefault(number, []).append(plate)
        return plates

    @expose("/")
    @has_access
    def list(self):
        months, month = self._months()
        offset = _int_arg("offset") or 0
        groups = self._groups(months, offset) if months else []
        has_next = len(groups) > GROUP_PAGE
        groups = groups[:GROUP_PAGE]
        plates = self._plates(months, [g.card_number for g in groups])
        args = {"month": month} if month else {}
        return self.render_template(
            "tollbook/usage_unregistered.html", groups=groups, plates=plates, months=open_months(), month=month,
            closed=sorted(closed_months()), yen=yen, member_label=member_term(), date_jp=date_jp, month_jp=month_jp,
            prev_url=url_for("UnregisteredCardView.list", offset=max(offset - GROUP_PAGE, 0), **args) if offset else None,
            next_url=url_for("UnregisteredCardView.list", offset=offset + GROUP_PAGE, **args) if has_next else None)

    @expose("/assign/", methods=["GET", "POST"])
    @has_access
    def assign(self):
        number = re.sub(r"[^\d*]", "", request.values.get("number") or "")  # * : masked (利用照会)
        months = open_months()
        group = self._groups(months, numbers=[number]) if number and months else []
        if not group:
            flash(f"カード番号 {number} の未登録カードの明細はありません。", "warning")
            return redirect(url_for("UnregisteredCardView.list"))
        if request.method == "POST":
            if not (request.form.get("card_id") or "").isdigit():
                flash("割り当てるカードを選んでください。", "danger")
            else:
                card = db.session.get(Card, int(request.form["card_id"]))
                doubts = _assignment_doubts(card, group[0], self._plates(months, [number]).get(number, []))
                if doubts and request.form.get("confirmed") != str(card.id):  # confirmed for this very card
                    for doubt in doubts:
                        flash(doubt, "warning")
                    flash("内容を確かめて、よければ「確認して割り当てる」を押してください。", "warning")
                    plates = self._plates(months, [number]).get(number, [])
                    suggested, others = _card_choices(number, plates)
                    return self.render_template(
                        "tollbook/usage_assign.html", number=number, group=group[0], plates=plates, suggested=suggested,
                        others=others, yen=yen, date_jp=date_jp, csrf_token=generate_csrf, member_label=member_term(),
                        chosen=card.id if card else None, doubts=doubts)
                try:
                    linked = assign_unregistered(number, card.id if card else 0)
                except DomainError as error:
                    flash(error.message, "danger")
                else:
                    flash(f"カード番号 {number} の走行明細 {linked:,}件をカード {card}（{card.member}）に割り当てました。",
                          "success")
                    return redirect(url_for("UnregisteredCardView.list"))
        plates = self._plates(months, [number]).get(number, [])
        suggested, others = _card_choices(number, plates)
        return self.render_template(
            "tollbook/usage_assign.html", number=number, group=group[0], plates=plates, suggested=suggested,
            others=others, yen=yen, date_jp=date_jp, csrf_token=generate_csrf,
            member_label=member_term(), chosen=None, doubts=[])


def _assignment_doubts(card, group, plates: list[str]) -> list[str]:
    """Why the chosen card may be the wrong one (issue 9 item 5): not valid on the rows' dates, or its
    vehicle is not the one the rows name. Shown before anything is linked; staff confirm or choose again."""
    if card is None:
        return []
    doubts = []
    first, last = group.first.date() if group.first else None, group.last.date() if group.last else None
    if card.valid_from and first and first < card.valid_from:
        doubts.append(f"カード {card} の有効開始日（{card.valid_from:%Y/%m/%d}）より前の走行があります"
                      f"（最初の走行 {first:%Y/%m/%d}）。")
    if card.valid_until and last and last > card.valid_until:
        doubts.append(f"カード {card} の有効期限（{card.valid_until:%Y/%m/%d}）より後の走行があります"
                      f"（最後の走行 {last:%Y/%m/%d}）。")
    seen = {squash_plate(p) for p in plates if p}
    serials = {plate_serial_of(p) for p in plates if squash_plate(p).isdigit()}
    if card.vehicle is not None and seen:
        plate = card.vehicle.plate_text()
        if squash_plate(plate) not in seen and card.vehicle.plate_serial not in serials:
            doubts.append(f"カード {card} の車両（{plate}）は、明細の車両番号（{'、'.join(plates)}）と違います。")
    return doubts


def _card_choices(number: str, plates: list[str]):
    """Cards to choose from: first those whose vehicle carries a plate seen in the rows or whose
    number is close (same first 15 digits), then every other card."""
    seen = {squash_plate(p) for p in plates}
    serials_only = {plate_serial_of(p) for p in plates if squash_plate(p).isdigit()}  # 利用照会 writes '5050' only
    suggested, others = [], []
    rows = db.session.execute(select(Card, Member, Vehicle).join(Member, Member.id == Card.member_id)
                              .outerjoin(Vehicle, Vehicle.id == Card.vehicle_id).order_by(Member.code, Card.number))
    for card, member, vehicle in rows:
        plate = vehicle.plate_text() if vehicle is not None else ""
        label = f"{card}　{member.code} {member.name}" + (f"　{plate}" if plate else "") + f"（{card.status_name()}）"
        choice = (card.id, label)
        close = fits_mask(number, card.number) if is_masked(number) else card.number[:15] == number[:15]
        same_serial = vehicle is not None and vehicle.plate_serial in serials_only
        if (plate and squash_plate(plate) in seen) or same_serial or close:
            suggested.append(choice)
        else:
            others.append(choice)
    return suggested, others

