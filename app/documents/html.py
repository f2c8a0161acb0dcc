"""The member documents' HTML, from app/templates/documents/ with a Jinja environment of its own:
no Flask application or request is needed, so a render worker process can use it (render.py)."""
from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.domain.bank_account import mask_account_number
from app.domain.wareki import format_date, format_month
from app.models.member import PAYMENT_METHODS

from . import formatting
from .data import InvoiceDocuments

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "documents"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(amount=formatting.amount, yen=formatting.yen, yen_mark=formatting.yen_mark,
                       tax_label=formatting.tax_label,
                       vehicle_class_name=formatting.vehicle_class_name, mask_account=mask_account_number)
    return env


def base_context(data: InvoiceDocuments, title: str) -> dict:
    style = data.operator.date_style
    invoice = data.invoice
    month = format_month(int(invoice.month[:4]), int(invoice.month[5:7]), style)
    return dict(title=title, operator=data.operator, member=data.member, invoice=invoice,
                member_term=data.operator.member_term, month_label=month, period=invoice.period,
                date=lambda day: format_date(day, style), logo_uri=_logo_uri(data),
                payment_name=PAYMENT_METHODS.get(invoice.payment_method, invoice.payment_method))


def render_html(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)


def _logo_uri(data: InvoiceDocuments) -> str:
    """The logo inline (a data: URI): xhtml2pdf's resource policy would refuse a file path, and the
    document must not depend on a file that may change after it was issued."""
    logo = data.operator.logo
    if not logo or data.operator.logo_mime not in ("image/png", "image/jpeg"):
        return ""
    return f"data:{data.operator.logo_mime};base64,{base64.b64encode(logo).decode('ascii')}"
