"""NEXCO application forms (申請書) from card events (issue 10 item 4).

kinds.py    which form an event needs, the official form each sheet follows
sources.py  the plain values a sheet is filled from (read by app/services/nexco_forms.py)
filling.py  event / renewal-list card → filled sheet (pure)
render.py   sheets → one A4 PDF, a page per sheet
"""
from .filling import FilledForm, fill_event_form, fill_renewal_form  # noqa: F401
from .kinds import FORM_KINDS, form_for_event  # noqa: F401
from .render import forms_pdf  # noqa: F401
