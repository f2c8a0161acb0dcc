"""Whether a row may be deleted, and if not, why — in Japanese (issue 8 items 14, 15).

Before, a delete that other rows blocked flashed an empty box (FAB shows str() of its database
exception, which is empty), and where the foreign key was nullable SQLAlchemy simply cleared it:
deleting a vehicle detached its corporate cards (which require a vehicle), deleting an agency
detached its members, with no audit entry. Now every row that refers to the one being deleted
refuses the delete with the reason, found from the foreign keys in the metadata (so a new table is
covered without an edit here), and nothing is changed."""
from sqlalchemy import inspect, literal, select

from app.domain.errors import DomainError
from app.labels import member_term

# What the deleted row is called ("この{…}には").
_SUBJECTS = {"card": "カード", "vehicle": "車両", "agency": "代理店", "member": None, "ic_master": "IC",
             "import_profile": "取込形式", "tariff_rule": "規則", "import_batch": "取込"}
# What refers to it ("…{…}があるため").
_NOUNS = {"usage_record": "走行明細", "card_event": "カード異動", "card": "ETCカード", "vehicle": "車両",
          "member": None, "member_account": "マイページのログイン", "invoice": "請求書", "invoice_line": "請求明細",
          "invoice_adjustment": "訂正", "import_batch": "取込", "operator_discount_report": "道路事業者の割引報告",
          "agency_commission": "締めた月の代理店手数料"}
# What to do instead, per deleted table.
_HINTS = {"card": "使わなくなったカードは、カード異動（解約）で止めてください。",
          "member": "やめた{m}は、状態を「脱退」にしてください。",
          "vehicle": "先にカードを別の車両へ移す（カード異動の車両入替）か、カードを解約してください。",
          "agency": "先に所属する{m}の代理店を外してください。"}
_NOT_BLOCKING = {"CASCADE"}  # the database deletes those rows with it


def _word(table: dict, name: str, fallback: str) -> str:
    word = table.get(name, fallback)
    return member_term() if word is None else word


def blocking_references(session, item) -> list[str]:
    """The names of the kinds of rows that refer to `item`, in a stable order (empty: deletable)."""
    from flask_appbuilder import Model

    mapper = inspect(type(item))
    table = mapper.local_table
    key = mapper.primary_key_from_instance(item)
    if len(key) != 1:
        return []
    found = []
    for other in Model.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is not table or (fk.ondelete or "").upper() in _NOT_BLOCKING:
                continue
            condition = fk.parent == key[0]
            if other is table:  # a self reference (a reissued card's successor): not the row itself
                condition = condition & (other.primary_key.columns.values()[0] != key[0])
            if session.scalar(select(literal(1)).select_from(other).where(condition).limit(1)):
                noun = _word(_NOUNS, other.name, "関連するデータ")
                if noun not in found:
                    found.append(noun)
    return found


def refuse_if_referenced(session, item) -> None:
    """DomainError with the reason (「このカードには走行明細があるため削除できません。」) when
    other rows refer to `item`."""
    found = blocking_references(session, item)
    if not found:
        return
    name = inspect(type(item)).local_table.name
    subject = _word(_SUBJECTS, name, "データ")
    hint = _HINTS.get(name, "").format(m=member_term())
    raise DomainError(f"この{subject}には{'・'.join(found)}があるため削除できません。{hint}")
