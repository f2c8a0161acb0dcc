"""The notice mail on close (issue 12 item 3), against a local SMTP server the tests start (aiosmtpd):
members with an e-mail address get a short mail once their documents are rendered — no amounts, no
attachments —; members without one get none; temporary refusals are retried, permanent ones and too many
failures end as failed; the staff screen shows the sent / failed log per member; the background job sends
after the render job."""
import email
import email.policy
import socket
import threading

import pytest
from sqlalchemy import select

from app.extensions import db as database
from app.models import Invoice, Member, PortalNotice
from app.services.actor import acting_as
from app.services.documents.rendering import render_documents
from app.services.notices import send_notices
from tests.conftest import STAFF_PASSWORD, login

from .documents_month import MONTH, build_closed_month

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd が入っていません（requirements-dev.txt）")


class Recorder:
    """An SMTP handler that keeps every message, and refuses recipients as told: {address: [codes…]} is
    answered in turn (then accepted)."""

    def __init__(self):
        self.messages = []
        self.refuse: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            answers = self.refuse.get(address)
            if answers:
                return answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.rcpt_tos[:], envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp(app):
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_RETRY_MINUTES", "PORTAL_URL",
                                                  "MAIL_FROM")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_RETRY_MINUTES="0",
                      PORTAL_URL="https://etc.example-kumiai.jp/login/", MAIL_FROM="info@example-kumiai.jp")
    yield recorder
    app.config.update(saved)
    controller.stop()


def set_emails(db, **emails):
    with acting_as("tester-notices"):
        for code, address in emails.items():
            db.session.scalar(select(Member).where(Member.code == code)).email = address
        db.session.commit()


def closed_with_emails(db, tmp_path, **emails):
    """build_closed_month with the members' e-mail set before the close."""
    from . import documents_month

    original = documents_month.close_billing_run

    def close_after_setting_emails(month, actor):
        set_emails(db, **emails)
        return original(month, actor)

    documents_month.close_billing_run = close_after_setting_emails
    try:
        return build_closed_month(db, tmp_path)
    finally:
        documents_month.close_billing_run = original


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_the_close_mails_members_with_an_address_once_their_documents_are_ready(app, db, tmp_path, smtp):
    ids = closed_with_emails(db, tmp_path, M001="keiri@yamada-unyu.example.jp")  # M002 has none
    notices = db.session.scalars(select(PortalNotice)).all()
    assert [(n.member_id, n.month, n.email, n.status) for n in notices] == [
        (ids["m1"], MONTH, "keiri@yamada-unyu.example.jp", "pending")]
    # not before the documents are rendered
    summary = send_notices()
    assert summary.sent == 0 and summary.waiting_for_documents == 1 and not smtp.messages
    assert not render_documents(MONTH, processes=1).failed
    summary = send_notices()
    assert summary.sent == 1, str(summary)
    (recipients, raw), = smtp.messages
    assert recipients == ["keiri@yamada-unyu.example.jp"]
    message = parse(raw)
    assert message["Subject"] == "【東京運輸事業協同組合】2026年10月ご利用分の請求書・明細を会員ページに掲載しました"
    assert message["From"].addresses[0].addr_spec == "info@example-kumiai.jp"
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "2026年10月ご利用分の請求書" in body and "https://etc.example-kumiai.jp/login/" in body
    total = db.session.get(Invoice, ids["i1"]).total
    assert "円" not in body and f"{total:,}" not in body and str(total) not in body  # no amounts
    sent = db.session.scalar(select(PortalNotice))
    assert sent.status == "sent" and sent.sent_at is not None and sent.attempts == 1
    # sent once: another pass sends nothing
    assert send_notices().sent == 0 and len(smtp.messages) == 1


def test_temporary_refusals_are_retried_permanent_ones_fail(app, db, tmp_path, smtp):
    closed_with_emails(db, tmp_path, M001="busy@example.jp", M002="nobody@example.jp")
    assert not render_documents(MONTH, processes=1).failed
    smtp.refuse = {"busy@example.jp": ["451 4.3.0 try again later", "451 4.3.0 try again later"],
                   "nobody@example.jp": ["550 5.1.1 no such user"]}
    first = send_notices()
    assert first.retrying == 1 and len(first.failed) == 1 and "550 5.1.1 no such user" in first.failed[0]
    busy = db.session.scalar(select(PortalNotice).where(PortalNotice.email == "busy@example.jp"))
    assert (busy.status, busy.attempts) == ("pending", 1) and "451" in busy.error
    second = send_notices()
    assert second.retrying == 1
    third = send_notices()
    assert third.sent == 1
    db.session.expire_all()
    rows = {n.email: (n.status, n.attempts) for n in db.session.scalars(select(PortalNotice))}
    assert rows == {"busy@example.jp": ("sent", 3), "nobody@example.jp": ("failed", 1)}
    assert [r for r, _ in smtp.messages] == [["busy@example.jp"]]


def test_too_many_failures_end_as_failed_and_staff_see_the_log_and_resend(app, client, db, tmp_path, smtp):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    try:
        closed_with_emails(db, tmp_path, M001="busy@example.jp")
        assert not render_documents(MONTH, processes=1).failed
        smtp.refuse = {"busy@example.jp": ["421 4.7.0 too busy"] * 2}
        send_notices()
        send_notices()
        notice = db.session.scalar(select(PortalNotice))
        assert (notice.status, notice.attempts) == ("failed", 2)
        login(client, "staff", STAFF_PASSWORD)
        page = client.get("/portal-logins/notices/").get_data(as_text=True)
        assert "busy@example.jp" in page and "送信失敗" in page and "421" in page
        client.post(f"/portal-logins/notices/resend/{notice.id}")
        from app.jobs.notices import wait_until_idle

        assert wait_until_idle(30)
        page = client.get("/portal-logins/notices/").get_data(as_text=True)
        assert "送信済み" in page and len(smtp.messages) == 1
    finally:
        app.config["MAIL_MAX_ATTEMPTS"] = 5


def test_an_unreachable_server_is_retried_then_sent(app, db, tmp_path, smtp):
    closed_with_emails(db, tmp_path, M001="keiri@example.jp")
    assert not render_documents(MONTH, processes=1).failed
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    summary = send_notices()
    assert summary.retrying == 1
    assert "接続できませんでした" in database.session.scalar(select(PortalNotice.error))
    app.config["MAIL_PORT"] = port
    assert send_notices().sent == 1


def test_the_render_job_sends_in_the_background(app, db, tmp_path, smtp):
    from app.jobs.documents import start_rendering, wait_until_idle as documents_idle
    from app.jobs.notices import wait_until_idle as notices_idle

    closed_with_emails(db, tmp_path, M001="keiri@example.jp", M002="info@takahashi.example.jp")
    assert start_rendering(app, "tester")
    assert documents_idle(300)
    assert notices_idle(30)
    assert sorted(r[0] for r, _ in smtp.messages) == ["info@takahashi.example.jp", "keiri@example.jp"]
    assert {n.status for n in db.session.scalars(select(PortalNotice))} == {"sent"}


def test_send_notices_command(app, db, tmp_path, smtp):
    closed_with_emails(db, tmp_path, M001="keiri@example.jp")
    assert not render_documents(MONTH, processes=1).failed
    result = app.test_cli_runner().invoke(args=["etc", "send-notices", MONTH])
    assert result.exit_code == 0, result.output
    assert "お知らせメールを 1件送信しました。" in result.output
    app.config["MAIL_SERVER"] = None
    result = app.test_cli_runner().invoke(args=["etc", "send-notices"])
    assert result.exit_code == 1 and "MAIL_SERVER が設定されていない" in result.output
