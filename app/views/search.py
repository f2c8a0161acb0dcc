"""Searching the back-office lists as a Japanese clerk expects (issue 9 item 14).

- Text filters default to 「含む」 (FAB puts 「で始まる」 first), and 含む finds every kana form of
  what was typed (やま finds ヤマ and ﾔﾏ): app.domain.search_text.
- A view may offer one search box over several columns at once (`quick_search`): every word typed
  must match one of them, in any of its kana forms; digits also match card numbers as printed."""
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterContains, SQLAFilterConverter, get_field_setup_query
from sqlalchemy import String, and_, cast, or_, select

from app.domain.search_text import digits_of, text_variants, tokens


def like_any(column, text: str):
    """column ILIKE %v% for every kana form v of `text` (LIKE's own wildcards escaped)."""
    return or_(*(column.ilike(f"%{_escape(v)}%", escape="\\") for v in text_variants(text)))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class FilterContainsKana(FilterContains):
    """FAB's 含む, finding the typed text in each of its kana forms."""

    def apply(self, query, value):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        return query.filter(like_any(field, value)) if text_variants(value) else query


def _contains_first(filters: list) -> list:
    rest = [f for f in filters if f is not FilterContains]
    return [FilterContainsKana, *rest] if len(rest) != len(filters) else filters


class TollbookFilterConverter(SQLAFilterConverter):
    conversion_table = tuple((kind, _contains_first(list(classes)))
                             for kind, classes in SQLAFilterConverter.conversion_table)


class QuickSearchFilter(BaseFilter):
    """The list's one search box (`?q=…`): every word must match one of the view's criteria."""

    name = "まとめて検索"
    arg_name = "q"
    criteria = None  # word → SQLAlchemy condition (FAB re-creates filters from their class: see for_criteria)

    @classmethod
    def for_criteria(cls, criteria) -> type["QuickSearchFilter"]:
        return type(f"{cls.__name__}_{criteria.__name__}", (cls,), {"criteria": staticmethod(criteria)})

    def apply(self, query, value):
        words = tokens(value)
        return query.filter(and_(*(self.criteria(word) for word in words))) if words else query


def _plate_matches(word: str):
    """A word of a number plate: 地名 or ひらがな in any kana form, 分類番号 or 一連番号 by its digits
    (12-34 is stored as 1234)."""
    from app.models import Vehicle

    conditions = [like_any(Vehicle.plate_region, word), like_any(Vehicle.plate_kana, word)]
    digits = digits_of(word)
    if digits:
        conditions += [Vehicle.plate_class_number.like(f"%{digits}%"),
                       cast(Vehicle.plate_serial, String).like(f"%{digits}%")]
    return or_(*conditions)


def _member_matches(word: str):
    from app.models import Member

    return or_(like_any(Member.code, word), like_any(Member.name, word), like_any(Member.kana, word))


def member_quick_search(word: str):
    """組合員一覧: code, name, kana, a card's number or a vehicle's plate."""
    from app.models import Card, Member, Vehicle

    conditions = [_member_matches(word), Member.id.in_(select(Vehicle.member_id).where(_plate_matches(word)))]
    digits = digits_of(word)
    if digits:
        conditions.append(Member.id.in_(select(Card.member_id).where(Card.number.like(f"%{digits}%"))))
    return or_(*conditions)


def card_quick_search(word: str):
    """カード一覧: the number as printed, its member's code, name or kana, its vehicle's plate."""
    from app.models import Card, Member, Vehicle

    conditions = [Card.member_id.in_(select(Member.id).where(_member_matches(word))),
                  Card.vehicle_id.in_(select(Vehicle.id).where(_plate_matches(word)))]
    digits = digits_of(word)
    if digits:
        conditions.append(Card.number.like(f"%{digits}%"))
    return or_(*conditions)
