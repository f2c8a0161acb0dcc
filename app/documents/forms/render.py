"""Filled sheets → one A4 PDF, one page per sheet (IPAex Gothic embedded by app/documents/pdf.py).

Pure: no database, no Flask context; a Jinja2 environment of its own, autoescaped (member names are
user input). Values that may be long (names, addresses, remarks) sit in <p> elements with
`-pdf-word-wrap: CJK`; without it xhtml2pdf breaks Japanese only at spaces and the text runs off the
page (stack-notes.md §3). No <br/> anywhere: CJK wrapping swallows it.
"""
from pathlib import Path
from typing import Sequence

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.documents.pdf import html_to_pdf

from .filling import SUBMIT_TO, FilledForm

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True)


def forms_html(forms: Sequence[FilledForm]) -> str:
    return _ENV.get_template("nexco_forms.html").render(forms=forms, submit_to=SUBMIT_TO)


def forms_pdf(forms: Sequence[FilledForm]) -> bytes:
    """One PDF with every sheet, in the order given, each on its own page."""
    if not forms:
        raise ValueError("no forms to render")
    return html_to_pdf(forms_html(forms))
