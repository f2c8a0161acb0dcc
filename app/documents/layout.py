"""How the documents group their numbers (one grouping for PDF, Excel and CSV; pure): the invoice's
lines per card, the card statement's totals, the usage statement's passages per card with sums."""
from __future__ import annotations

from .data import InvoiceDocuments


def line_groups(data: InvoiceDocuments) -> list[dict]:
    """The invoice's lines per card (its tolls, discounts and fees, headed by the masked number and
    plate), then the lines of no card (monthly fees, corrections, carried credits), each in position order."""
    by_card: dict = {}
    for line in data.lines:
        by_card.setdefault(line.card_id, []).append(line)
    groups = []
    for card in data.cards:
        if card.card_id in by_card:
            heading = f"カード {card.masked_number}" + (f"　{card.plate}" if card.plate else "")
            groups.append(dict(card=card, heading=heading, lines=by_card.pop(card.card_id)))
    rest = [line for card_id, lines in by_card.items() for line in lines]
    if rest:
        groups.append(dict(card=None, heading="カード以外" if groups else "", lines=sorted(rest, key=lambda l: l.position)))
    return groups


def card_totals(data: InvoiceDocuments) -> dict:
    cards = data.cards
    return dict(trips=sum(c.trips for c in cards), usage=sum(c.usage for c in cards),
                discount=sum(c.discount for c in cards), fees=sum(c.fees for c in cards),
                net=sum(c.net for c in cards))


def usage_groups(data: InvoiceDocuments) -> list[dict]:
    """The passages per card (cards in the order of data.cards), with the card's sums."""
    by_card: dict = {}
    for usage in data.usages:
        by_card.setdefault(usage.card_id, []).append(usage)
    groups = []
    for card in data.cards:
        rows = by_card.get(card.card_id)
        if rows:
            groups.append(dict(card=card, usages=rows, **usage_sums(rows)))
    return groups


def usage_sums(rows) -> dict:
    """The sums of passages: count (rows), before discount, the operators' discount, billed."""
    return dict(rows=len(rows), before=sum(u.amount_before_discount or 0 for u in rows), discount=sum(u.discount for u in rows),
                billed=sum(u.amount_billed for u in rows),
                before_complete=all(u.amount_before_discount is not None for u in rows))
