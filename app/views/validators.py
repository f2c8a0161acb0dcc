"""WTForms validators that run the domain rules and put the Japanese message on the field."""
from wtforms.validators import StopValidation

from app.domain.errors import DomainError


class Normalize:
    """Run fn(value, form) on a filled field; store what it returns, or show its DomainError."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        try:
            field.data = self.fn(field.data, form)
        except DomainError as error:
            raise StopValidation(error.message) from None


class Required:
    def __init__(self, message="入力してください。"):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field):
        if field.data in (None, "") or (isinstance(field.data, str) and not field.data.strip()):
            field.errors[:] = []
            raise StopValidation(self.message)


def field_value(form, name):
    field = getattr(form, name, None)
    return field.data if field is not None else None
