"""The usage statement's pages, laid out before rendering (pure).

Why: one <table> of thousands of rows makes ReportLab split it at every page, and each split wraps
all the remaining rows again — quadratic (a 1,200-row statement took minutes of CPU). Here the rows
are cut into pages first, each page its own table with the header row, so the header is on every
page by construction and rendering time grows with the number of rows.

A row's height is estimated from its text: the IC and discount-kind columns wrap Japanese text by
character (-pdf-word-wrap: CJK), so a row takes as many lines as its longest such cell needs at that
column's width. The capacities below are measured on the template (A4, 8pt table text); they keep a
margin, so an estimate errs on the short side of a page. Should a page overflow anyway, xhtml2pdf
splits that one table (with its header repeated) and the document is still right.
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

# Full-width characters that fit one line of a column (measured: 8pt IPAex Gothic in the template).
IC_CHARS = 11
KINDS_CHARS = 8
# Table lines per page: the first page also holds the title and the recipient block.
FIRST_PAGE_LINES = 37
PAGE_LINES = 50


@dataclass(frozen=True)
class Entry:
    kind: str  # group, row, subtotal, total
    card: object  # CardInfo
    usage: object = None  # UsageRow for kind row
    sums: dict | None = None  # for subtotal and total
    continued: bool = False  # a group heading repeated at the top of a page


def text_width(text: str) -> float:
    """Width in full-width characters: 東 counts 1, A or 1 counts ½."""
    return sum(1 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text or "")


def lines_of(entry: Entry) -> int:
    if entry.kind != "row":
        return 1
    usage = entry.usage
    return max(1, math.ceil(text_width(usage.entry_ic) / IC_CHARS), math.ceil(text_width(usage.exit_ic) / IC_CHARS),
               math.ceil(text_width(usage.discount_kinds) / KINDS_CHARS))


def paginate(entries: list[Entry], first_page: int = FIRST_PAGE_LINES, page: int = PAGE_LINES) -> list[list[Entry]]:
    """Entries cut into pages of at most `first_page` / `page` lines. A page that starts inside a
    card's rows begins with that card's heading again (続き)."""
    pages: list[list[Entry]] = [[]]
    room = first_page
    current_card = None
    for entry in entries:
        need = lines_of(entry)
        if need > room and pages[-1]:
            pages.append([])
            room = page
            if entry.kind in ("row", "subtotal") and current_card is not None:
                pages[-1].append(Entry("group", current_card, continued=True))
                room -= 1
        if entry.kind == "group":
            current_card = entry.card
            if room < 3 and pages[-1]:  # a heading alone at the foot of a page: start the card on the next
                pages.append([])
                room = page
        pages[-1].append(entry)
        room -= need
    return pages
