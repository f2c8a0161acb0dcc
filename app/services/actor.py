"""Who is acting: the logged-in user in a request, or the named CLI/scheduler actor otherwise."""
import contextvars
from contextlib import contextmanager

_cli_actor = contextvars.ContextVar("tollbook_actor", default=("system", None))


@contextmanager
def acting_as(username: str, user_id: int | None = None):
    token = _cli_actor.set((username, user_id))
    try:
        yield
    finally:
        _cli_actor.reset(token)


def current_actor() -> tuple[str, int | None]:
    try:
        from flask import has_request_context
        from flask_login import current_user

        if has_request_context() and getattr(current_user, "is_authenticated", False):
            return current_user.username, current_user.id
    except ImportError:  # pragma: no cover
        pass
    return _cli_actor.get()
