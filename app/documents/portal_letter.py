"""会員ページのご案内 (the letter handed to a member with its login): one A4 page per issued login, with the
address to open, the login ID and the initial password. Made in the request that issued the logins and
never stored: the initial password exists in clear only on this paper (docs/portal.md)."""
import datetime as dt

from flask import render_template

from app.domain.clock import today_jst

from .pdf import html_to_pdf


def login_letters_pdf(logins, operator, login_url: str, issued_on: dt.date | None = None) -> bytes:
    """`logins`: IssuedLogin rows (app/services/portal_logins.py); `operator`: OperatorSettings or None."""
    html = render_template("tollbook/pdf/portal_letter.html", logins=logins, operator=operator,
                           login_url=login_url, issued_on=issued_on or today_jst())
    return html_to_pdf(html)
