"""The one place that ends a transaction. Each service use case runs in a unit of work: on success
it commits, on any error it rolls back and re-raises; views and CLI never commit or roll back
(architecture.md: services own the transaction).

    @transactional
    def close_billing_run(month, closed_by): ...

    with unit_of_work() as session: ...

Units nest: an inner one (a service calling another service) joins the outer one, and only the
outermost commits or rolls back, so a use case stays one transaction.
"""
import functools
from contextlib import contextmanager

from app.extensions import db

_DEPTH = "tollbook_unit_of_work_depth"


@contextmanager
def unit_of_work():
    session = db.session
    info = session.info
    depth = info.get(_DEPTH, 0)
    info[_DEPTH] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        info[_DEPTH] = depth


def transactional(function):
    """Run the decorated service function in a unit of work."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with unit_of_work():
            return function(*args, **kwargs)
    return wrapper


def discard_changes() -> None:
    """For read-only pages after a failed read: drop what the session holds (not a unit of work)."""
    db.session.rollback()
