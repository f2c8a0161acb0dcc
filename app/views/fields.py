"""Form fields shared by the back-office screens."""
import datetime as dt

from flask_appbuilder.fieldwidgets import DatePickerWidget
from markupsafe import Markup
from wtforms import DateField
from wtforms.validators import StopValidation
from wtforms.widgets import html_params

from app.domain.errors import DomainError
from app.domain.japanese_date import EXAMPLES, parse_date_input


class JapaneseDateWidget(DatePickerWidget):
    """FAB's calendar box, showing what the user typed: the calendar is a help, not the only way in.
    The picker's forceParse is off (templates/appbuilder/init.html): it used to replace what it could
    not parse; now the server reads every form (JapaneseDateField) and refuses the rest."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        kwargs.setdefault("placeholder", "例: 2027/04/01・R9.4.1")
        kwargs.setdefault("autocomplete", "off")
        return Markup(self.data_template % {"text": html_params(type="text", value=field._value(), **kwargs)})


class JapaneseDateField(DateField):
    """A date typed as Japanese offices write it (app.domain.japanese_date): 2027/4/1, 2027-04-01,
    20270401, R9.4.1, 令和9年4月1日. Anything else is refused with a Japanese message on the field."""

    widget = JapaneseDateWidget()

    def __init__(self, label=None, validators=None, format="%Y/%m/%d", **kwargs):
        kwargs.pop("widget", None)  # FAB passes its own DatePickerWidget
        super().__init__(label, validators, format=format, **kwargs)
        self.description = self.description or f"{EXAMPLES} のどの形でも入力できます。"

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%Y/%m/%d") if isinstance(self.data, dt.date) else ""

    parse_error: str | None = None

    def process_formdata(self, valuelist):
        self.parse_error = None
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        if not text:
            self.data = None
            return
        try:
            self.data = parse_date_input(text)
        except DomainError as error:
            self.data, self.parse_error = None, str(error)

    def pre_validate(self, form):
        # Before the validators: a required-field check would otherwise replace "cannot read 先週" by
        # "please enter", as if nothing had been typed.
        if self.parse_error:
            raise StopValidation(self.parse_error)
