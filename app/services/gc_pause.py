"""Python's cyclic garbage collector paused while a batch builds many short-lived objects.

The billing draft makes a few hundred thousand small objects (usage groups, per-card sums, lines) that
are freed by reference counting; none of them form cycles. With the collector on, every ~700 new
objects start a collection, and the full ones walk every object of the process (the app, SQLAlchemy,
the draft so far): about a third of the draft's time at 1,000,000 usage rows (docs/performance.md).
Paused for the batch and re-enabled after it (a collection then frees any cycle made meanwhile).
Process-wide: another thread's objects wait too, for the seconds the batch runs."""
import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
