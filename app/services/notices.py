"""会員ページのお知らせメール (issue 12 item 3; docs/portal.md).

The close asks for them (`request_notices`, in the close's transaction: one INSERT … SELECT): one row per
member invoiced that month that has an e-mail address. `send_notices` sends the rows whose member's
documents of the month are all rendered, over one SMTP connection per pass (settings MAIL_* in config.py),
and records each result in its own short transaction: sent (with the time), or the server's answer and a
next attempt after MAIL_RETRY_MINUTES; a permanent refusal (5xx) or MAIL_MAX_ATTEMPTS failures make it
failed. The mail says the documents are ready and where to read them: no amounts, no attachments.

The web process sends in the background after rendering (app/jobs/notices.py); `flask etc send-notices`
sends from the command line.
"""
import datetime as dt
import smtplib
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app
from sqlalchemy import and_, exists, func, insert, literal, or_, select, update

from app.extensions import db
from app.models import Invoice, IssuedDocument, Member, OperatorSettings
from app.models.billing import ISSUED
from app.models.document import RENDERED
from app.models.mixins import now_jst
from app.models.notice import NOTICE_FAILED, NOTICE_PENDING, NOTICE_SENT, PortalNotice

from .unit_of_work import unit_of_work

_notice = PortalNotice.__table__
BATCH = 200


def request_notices(month: str) -> int:
    """Rows for the month's invoiced members with an e-mail address (none twice). Joins the caller's
    transaction (the close)."""
    now = now_jst()
    email = func.trim(Member.email)
    rows = (select(Member.id, literal(month), email, literal(NOTICE_PENDING), literal(0),
                   literal(now, type_=_notice.c.created_at.type))
            .where(exists().where(and_(Invoice.member_id == Member.id, Invoice.month == month,
                                       Invoice.status == ISSUED)),
                   Member.email.is_not(None), email != "",
                   ~exists().where(and_(_notice.c.member_id == Member.id, _notice.c.month == month)))
            .order_by(Member.code))
    result = db.session.execute(insert(_notice).from_select(
        ["member_id", "month", "email", "status", "attempts", "created_at"], rows))
    return result.rowcount or 0


@dataclass
class SendSummary:
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: list[str] = field(default_factory=list)  # given up: 'M0001 a@b.jp: reason'
    waiting_for_documents: int = 0
    next_retry: dt.datetime | None = None  # the earliest retry still due

    def __str__(self):
        text = f"お知らせメールを {self.sent}件送信しました。"
        if self.retrying:
            text += f" {self.retrying}件は送信できず、あとで再送します。"
        if self.failed:
            text += f" {len(self.failed)}件は送信できませんでした。"
        if self.waiting_for_documents:
            text += f" {self.waiting_for_documents}件は帳票の作成待ちです。"
        return text


def _documents_ready():
    """The member's documents of the notice's month: at least one, and every one of its issued invoice
    rendered."""
    doc, inv = IssuedDocument.__table__, Invoice.__table__
    of_member = and_(doc.c.member_id == _notice.c.member_id, doc.c.month == _notice.c.month,
                     inv.c.id == doc.c.invoice_id, inv.c.status == ISSUED)
    return and_(exists().where(of_member), ~exists().where(and_(of_member, doc.c.status != RENDERED)))


def _settings():
    config = current_app.config
    delays = [int(m) for m in str(config.get("MAIL_RETRY_MINUTES") or "1,5,30,120").split(",") if m.strip()]
    return config, delays or [0], int(config.get("MAIL_MAX_ATTEMPTS") or 5)


def _message(notice_email: str, member_name: str, month: str, operator) -> EmailMessage:
    config = current_app.config
    operator_name = operator.name if operator else "Tollbook"
    label = f"{month[:4]}年{int(month[5:])}月ご利用分"
    url = config.get("PORTAL_URL")
    message = EmailMessage()
    message["Subject"] = f"【{operator_name}】{label}の請求書・明細を会員ページに掲載しました"
    message["From"] = formataddr((operator_name, config.get("MAIL_FROM") or "tollbook@localhost"))
    message["To"] = notice_email
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=(config.get("MAIL_FROM") or "tollbook@localhost").split("@")[-1])
    lines = [f"{member_name} 御中", "", f"いつもお世話になっております。{operator_name}です。", "",
             f"{label}の請求書・カード明細書・走行明細書・お支払いのご案内を会員ページに掲載しました。",
             "会員ページにログインしてご覧ください（PDF・Excel）。"]
    if url:
        lines += ["", url]
    lines += ["", "※このメールは送信専用です。ご不明な点は事務局にお問い合わせください。",
              "※お心当たりのない場合は、お手数ですがこのメールを破棄してください。", "", operator_name]
    if operator and operator.phone:
        lines.append(f"電話 {operator.phone}")
    message.set_content("\n".join(lines), charset="utf-8")
    return message


def _connect(config) -> smtplib.SMTP:
    host, port = config.get("MAIL_SERVER"), int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    if config.get("MAIL_USE_SSL"):
        server = smtplib.SMTP_SSL(host, port, timeout=timeout)
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            server.starttls()
    if config.get("MAIL_USERNAME"):
        server.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return server


def _permanent(error: Exception) -> bool:
    """A 5xx answer for this recipient: retrying will not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600 and not isinstance(error, smtplib.SMTPServerDisconnected)


def _reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                         for code, text in error.recipients.values())
    code, text = getattr(error, "smtp_code", None), getattr(error, "smtp_error", None)
    if code is not None:
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "メールサーバーが時間内に応答しませんでした。"
    if isinstance(error, OSError):
        return f"メールサーバーに接続できませんでした（{error.strerror or error}）。"
    return str(error) or error.__class__.__name__


def _record(notice_id: int, error: Exception | None, attempts: int, config, delays, max_attempts) -> str:
    now = now_jst()
    with unit_of_work() as session:
        if error is None:
            values = dict(status=NOTICE_SENT, sent_at=now, attempts=attempts, error=None, next_attempt_at=None)
            outcome = NOTICE_SENT
        elif attempts >= max_attempts or _permanent(error):
            values = dict(status=NOTICE_FAILED, attempts=attempts, error=_reason(error)[:500], next_attempt_at=None)
            outcome = NOTICE_FAILED
        else:
            wait = dt.timedelta(minutes=delays[min(attempts - 1, len(delays) - 1)])
            values = dict(attempts=attempts, error=_reason(error)[:500], next_attempt_at=now + wait)
            outcome = NOTICE_PENDING
        session.execute(update(_notice).where(_notice.c.id == notice_id, _notice.c.status == NOTICE_PENDING)
                        .values(**values))
    return outcome


def send_notices(month: str | None = None, *, ignore_wait: bool = False) -> SendSummary:
    """Send every due notice (of `month`, else of all months) whose documents are ready. `ignore_wait`:
    also those waiting for their next retry (the command line)."""
    config, delays, max_attempts = _settings()
    summary = SendSummary()
    if not config.get("MAIL_SERVER"):
        return summary
    operator = db.session.scalar(select(OperatorSettings))
    done: set[int] = set()
    while True:
        now = now_jst()
        query = (select(_notice.c.id, _notice.c.email, _notice.c.month, _notice.c.attempts, Member.code, Member.name)
                 .join(Member, Member.id == _notice.c.member_id)
                 .where(_notice.c.status == NOTICE_PENDING, _documents_ready(), _notice.c.id.not_in(done or {0})))
        if month:
            query = query.where(_notice.c.month == month)
        if not ignore_wait:
            query = query.where(or_(_notice.c.next_attempt_at.is_(None), _notice.c.next_attempt_at <= now))
        rows = db.session.execute(query.order_by(_notice.c.month, Member.code).limit(BATCH)).all()
        db.session.rollback()  # end the read before the network
        if not rows:
            break
        try:
            server = _connect(config)
        except (OSError, smtplib.SMTPException) as error:
            for notice_id, email, _, attempts, code, _ in rows:
                _count(summary, _record(notice_id, error, attempts + 1, config, delays, max_attempts), code, email,
                       error)
                done.add(notice_id)
            continue
        try:
            for notice_id, email, notice_month, attempts, code, name in rows:
                error = None
                try:
                    server.send_message(_message(email, name, notice_month, operator))
                except (OSError, smtplib.SMTPException) as failure:
                    error = failure
                _count(summary, _record(notice_id, error, attempts + 1, config, delays, max_attempts), code, email,
                       error)
                done.add(notice_id)
        finally:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()
    waiting = select(func.count()).select_from(_notice).where(_notice.c.status == NOTICE_PENDING, ~_documents_ready())
    retry = select(func.min(_notice.c.next_attempt_at)).where(_notice.c.status == NOTICE_PENDING, _documents_ready())
    if month:
        waiting, retry = waiting.where(_notice.c.month == month), retry.where(_notice.c.month == month)
    summary.waiting_for_documents = db.session.scalar(waiting) or 0
    summary.next_retry = db.session.scalar(retry)
    db.session.rollback()
    return summary


def _count(summary: SendSummary, outcome: str, code: str, email: str, error: Exception | None) -> None:
    if outcome == NOTICE_SENT:
        summary.sent += 1
    elif outcome == NOTICE_FAILED:
        summary.failed.append(f"{code} {email}: {_reason(error)}")
    else:
        summary.retrying += 1


def resend(notice_id: int) -> bool:
    """A failed notice goes back to the queue (staff's 再送). True if it was failed."""
    with unit_of_work() as session:
        done = session.execute(update(_notice).where(_notice.c.id == notice_id, _notice.c.status == NOTICE_FAILED)
                               .values(status=NOTICE_PENDING, attempts=0, next_attempt_at=None))
        return done.rowcount == 1
