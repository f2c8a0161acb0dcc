"""Pricing models: each rule on an invoice is one small pure function in this package.

Money is integer yen; rates are Decimal; every function that produces a fraction of a yen says
how it rounds (切り捨て by default). Each returns the amount and a Breakdown that the invoice and
the review screen print, so every number can be traced to the rule that made it.
"""
from .breakdown import Breakdown, Charge  # noqa: F401
from .rounding import FLOOR, HALF_UP, CEILING, round_yen  # noqa: F401
