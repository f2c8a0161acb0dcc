"""FAB's password check (FAB_PASSWORD_COMPLEXITY_VALIDATOR) with Tollbook's rules, and the forms
that set a password on screen.

FAB passes the validator only the password; whose password it is comes from the request: the
user's own (パスワードを変更), the user an administrator resets (?pk=), or the user being added
(the form's username and roles).
"""
from flask import g, request
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_babel import lazy_gettext
from werkzeug.security import check_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from app.domain.password_policy import MEMBER_MIN_LENGTH, STAFF_MIN_LENGTH, password_problems
from app.security.roles import ROLE_MEMBER

RULES = (f"職員は{STAFF_MIN_LENGTH}文字以上、組合員は{MEMBER_MIN_LENGTH}文字以上。ログインIDと同じもの、"
         "よく使われるものは使えません。長い文（例: 好きな言葉を3つ以上つなげたもの）がおすすめです。")


def _is_member(role_names) -> bool:
    names = set(role_names)
    return bool(names) and names == {ROLE_MEMBER}


def _target() -> tuple[str | None, bool, int | None]:
    """(login ID, is a member, user id) of the user whose password the current request sets."""
    from app.extensions import appbuilder

    sm = appbuilder.sm
    endpoint = request.endpoint or ""
    if endpoint.startswith(sm.resetpasswordview.__name__ + "."):
        user = sm.get_user_by_id(request.args.get("pk", type=int))
    elif endpoint.startswith(sm.resetmypasswordview.__name__ + ".") or endpoint == "PortalView.password":
        user = sm.get_user_by_id(g.user.id)
    else:
        user = None
    if user is not None:
        return user.username, _is_member(role.name for role in user.roles), user.id
    role_ids = [int(value) for value in request.form.getlist("roles") if value.isdigit()]
    roles = [sm.session.get(sm.role_model, role_id) for role_id in role_ids] if role_ids else []
    return request.form.get("username"), _is_member(role.name for role in roles if role is not None), None


def validate_password(password: str) -> None:
    from app.services.portal_logins import is_initial_password

    login_id, member, user_id = _target()
    same_as_initial = member and user_id is not None and is_initial_password(user_id, password or "")
    problems = password_problems(password or "", login_id, member=member, same_as_initial=same_as_initial)
    if problems:
        raise ValidationError(" ".join(problems))


class CurrentPassword:
    """The signed-in user's present password: a borrowed session cannot change it."""

    def __call__(self, form, field):
        from app.extensions import appbuilder

        user = appbuilder.sm.get_user_by_id(g.user.id)
        if not field.data or not check_password_hash(user.password, field.data):
            raise ValidationError("現在のパスワードが違います。")


class SetPasswordForm(DynamicForm):
    """An administrator sets another user's password (the user must change it at next login)."""

    password = PasswordField(lazy_gettext("Password"), description=RULES,
                             validators=[DataRequired(), PasswordComplexityValidator()],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(lazy_gettext("Confirm Password"), description="確認のため、もう一度入力してください。",
                                  validators=[EqualTo("password", message=lazy_gettext("Passwords must match"))],
                                  widget=BS3PasswordFieldWidget())


class ChangeMyPasswordForm(DynamicForm):
    current_password = PasswordField("現在のパスワード", validators=[DataRequired(), CurrentPassword()],
                                     widget=BS3PasswordFieldWidget())
    password = PasswordField("新しいパスワード", description=RULES,
                             validators=[DataRequired(), PasswordComplexityValidator()],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField("新しいパスワード（確認）", description="確認のため、もう一度入力してください。",
                                  validators=[EqualTo("password", message=lazy_gettext("Passwords must match"))],
                                  widget=BS3PasswordFieldWidget())
