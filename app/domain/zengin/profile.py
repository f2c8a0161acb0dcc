"""A collection profile's values (収納代行・委託者), checked the same way on the screen and in YAML:
委託者コード (digits, at most 10), 委託者名 through the one kana pipeline into 40 half-width bytes, the
collector's bank account against the zengin-code master, the debit day and the §8 file options."""
from app.domain.bank_account import lookup_bank, lookup_branch, normalize_account_number
from app.domain.errors import DomainError
from app.domain.kana import to_zengin_kana
from app.domain.text import digits_only

from .files import CHARSETS, CUSTOMER_NUMBER_KINDS, SEPARATORS

PROFILE_KINDS = ("bank", "card_company", "factoring")
HEADER_ACCOUNT_TYPES = {1: "普通", 2: "当座", 9: "その他"}  # 預金種目 of a 91/21 header (zengin-format.md §6)
FIELDS = ("code", "name", "kind", "requester_code", "requester_name_kana", "bank_code", "branch_code",
          "account_type", "account_number", "debit_day", "separator", "customer_number", "charset",
          "use_new_code", "use_edi", "note")


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def check_profile(values: dict) -> dict:
    """Normalised values, or DomainError (Japanese, with the field) at the first wrong one."""
    out = {}
    out["code"] = _text(values.get("code"))
    if not out["code"] or len(out["code"]) > 20 or not out["code"].isascii() or " " in out["code"]:
        raise DomainError(f"コード「{out['code']}」は半角英数字20文字以内で入力してください（例 default、smbc）。", "code")
    out["name"] = _text(values.get("name"))
    if not out["name"]:
        raise DomainError("名称を入力してください。", "name")
    out["kind"] = _text(values.get("kind")) or "bank"
    if out["kind"] not in PROFILE_KINDS:
        raise DomainError(f"種類「{out['kind']}」は bank, card_company, factoring のいずれかです。", "kind")
    charset = _text(values.get("charset")) or "strict"
    if charset not in CHARSETS:
        raise DomainError(f"使用文字「{charset}」は strict（標準）か wide（拡張）です。", "charset")
    out["charset"] = charset
    code = digits_only(_text(values.get("requester_code")))
    if code and (not code.isdigit() or len(code) > 10):
        raise DomainError(f"委託者コード「{values.get('requester_code')}」は10桁以内の数字です。", "requester_code")
    out["requester_code"] = code.zfill(10) if code else None
    name = _text(values.get("requester_name_kana"))
    out["requester_name_kana"] = (to_zengin_kana(name, charset=charset, length=40, label="委託者名カナ")
                                  if name else None)
    bank_code, branch_code = _text(values.get("bank_code")), _text(values.get("branch_code"))
    if bank_code:
        bank = lookup_bank(bank_code)
        out["bank_code"], out["bank_name"] = bank.code, bank.name
        if branch_code:
            branch = lookup_branch(bank, branch_code)
            out["branch_code"], out["branch_name"] = branch.code, branch.name
        else:
            out["branch_code"] = out["branch_name"] = None
    else:
        if branch_code:
            raise DomainError("支店コードの前に銀行コードを入力してください。", "bank_code")
        out["bank_code"] = out["bank_name"] = out["branch_code"] = out["branch_name"] = None
    account_type = values.get("account_type")
    if account_type in (None, ""):
        out["account_type"] = None
    else:
        try:
            out["account_type"] = int(account_type)
        except (TypeError, ValueError):
            out["account_type"] = -1
        if out["account_type"] not in HEADER_ACCOUNT_TYPES:
            raise DomainError(f"委託者の預金種目「{account_type}」は 1 普通, 2 当座, 9 その他 のいずれかです。",
                              "account_type")
    number = _text(values.get("account_number"))
    out["account_number"] = normalize_account_number(number) if number else None
    day = values.get("debit_day")
    if day in (None, ""):
        out["debit_day"] = None
    else:
        try:
            out["debit_day"] = int(day)
        except (TypeError, ValueError):
            out["debit_day"] = 0
        if not 1 <= out["debit_day"] <= 31:
            raise DomainError(f"振替日「{day}」は1〜31の日付です（空欄なら運営者設定の振替日）。", "debit_day")
    out["separator"] = _text(values.get("separator")) or "crlf"
    if out["separator"] not in SEPARATORS:
        raise DomainError(f"レコード区切り「{out['separator']}」は crlf か none です。", "separator")
    out["customer_number"] = _text(values.get("customer_number")) or "numeric"
    if out["customer_number"] not in CUSTOMER_NUMBER_KINDS:
        raise DomainError(f"顧客番号の形式「{out['customer_number']}」は numeric（数字）か text（文字）です。",
                          "customer_number")
    for flag in ("use_new_code", "use_edi"):
        value = values.get(flag)
        if value not in (None, "", True, False):
            raise DomainError(f"{flag} は true か false です。", flag)
        out[flag] = bool(value)
    out["note"] = _text(values.get("note")) or None
    return out


def ready_for_files(profile, label: str) -> list[str]:
    """What a profile lacks before it can head a 全銀 file (the header's required fields)."""
    missing = [name for name, value in (("委託者コード", profile.requester_code),
                                        ("委託者名カナ", profile.requester_name_kana),
                                        ("取引銀行コード", profile.bank_code), ("取引支店コード", profile.branch_code),
                                        ("預金種目", profile.account_type), ("口座番号", profile.account_number))
               if not value]
    return [f"{label}に{'・'.join(missing)}がありません（収納代行・委託者の画面で入力してください）。"] if missing else []
