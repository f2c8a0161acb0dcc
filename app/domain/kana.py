"""Kana names: stored as full-width katakana, as 全銀 and NEXCO forms expect them read.

Users type hiragana, half-width katakana or mixed widths; all of it is folded to full-width
katakana. What remains that is not katakana (kanji, Latin letters) is refused, because a kana
name is what the bank matches the account holder against (zengin-format.md §5).
"""
import re

import jaconv

from .errors import DomainError

# Full-width katakana incl. ヴ and small kana, the long-vowel mark, full-width space, and the
# punctuation banks accept in names: （）．－／ and the middle dot.
_KATAKANA_NAME = re.compile(r"^[\u30A1-\u30FA\u30FC\u3000（）．－／・0-9０-９Ａ-Ｚ]+$")


def normalize_kana(value: str, field: str = "kana", label: str = "フリガナ") -> str:
    text = (value or "").strip()
    if not text:
        return ""
    text = jaconv.h2z(text, kana=True, ascii=True, digit=True)  # ｶﾅ → カナ, ABC → ＡＢＣ
    text = jaconv.hira2kata(text)
    text = text.replace("ｰ", "ー").replace("-", "－").replace(" ", "\u3000")
    text = re.sub("\u3000+", "\u3000", text)
    if not _KATAKANA_NAME.match(text):
        bad = "".join(sorted({ch for ch in text if not _KATAKANA_NAME.match(ch)}))
        raise DomainError(f"{label}は全角カタカナで入力してください（使えない文字: {bad}）。", field)
    return text


# ---- 全銀 half-width kana (zengin-format.md §5) ------------------------------------------------------
#
# The one pipeline that turns any stored or typed name into what a 全銀 C field may hold. Steps, in order
# (§5.3; each is needed because the next one cannot do it):
#   1. NFKC: full-width ASCII and digits to half-width, half-width kana and （） to the usual forms
#      (ｶﾞ → ガ, （ → (); it also folds composed oddities so that only a few forms reach the next steps.
#   2. Hiragana → katakana (jaconv.hira2kata).
#   3. 法人格 → the banks' abbreviation: 株式会社 (or カブシキガイシヤ) at the start → ｶ), at the end → (ｶ,
#      in the middle → (ｶ) (CORPORATE_ABBREVIATIONS). A mandate's registered form wins: store that as
#      the kana and it passes unchanged.
#   4. Small kana enlarged (jaconv.enlarge_smallkana: キャノン → キヤノン), before the width change
#      because jaconv does not enlarge half-width small kana.
#   5. The long-vowel mark and every dash → "-" (ヨーコ → ﾖ-ｺ; ｰ is refused by the strict reading, §8 D2),
#      ・ → ".", the full-width space → " ", the obsolete ヰ ヱ → イ エ; spaces folded to one and trimmed.
#   6. jaconv.z2h (kana, ascii, digits): ガ → ｶﾞ (two bytes), ヴ → ｳﾞ; then upper case.
#   7. Every character checked against the field's class (§5.1, strict or wide per collection profile)
#      and every ﾞ/ﾟ against the kana before it; then the byte length against the field. Nothing is cut
#      or guessed: a name that does not fit or has a character outside the class is refused in Japanese.

import unicodedata  # noqa: E402

# (spellings, abbreviation). Longer spellings first so 医療法人社団 wins over 医療法人.
CORPORATE_ABBREVIATIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("特定非営利活動法人",), "トクヒ"),
    (("社会福祉法人",), "フク"),
    (("一般社団法人", "公益社団法人", "社団法人"), "シヤ"),
    (("一般財団法人", "公益財団法人", "財団法人"), "ザイ"),
    (("医療法人社団", "医療法人財団", "医療法人"), "イ"),
    (("学校法人",), "ガク"),
    (("宗教法人",), "シユウ"),
    (("株式会社", "カブシキガイシヤ", "カブシキガイシャ", "カブシキカイシヤ", "カブシキカイシャ"), "カ"),
    (("有限会社", "ユウゲンガイシヤ", "ユウゲンガイシャ", "ユウゲンカイシヤ", "ユウゲンカイシャ"), "ユ"),
    (("合同会社", "ゴウドウガイシヤ", "ゴウドウガイシャ"), "ド"),
    (("合名会社", "ゴウメイガイシヤ", "ゴウメイガイシャ"), "メ"),
    (("合資会社", "ゴウシガイシヤ", "ゴウシガイシャ"), "シ"),
)

# Field classes (§5.1). Strict is what Tollbook writes by default; wide adds what §8 D1/D4 say some
# banks accept (ｦ in names, ' + , / : ?). EDI情報 never takes a comma.
_KANA = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝﾞﾟ"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
ZENGIN_CLASSES = {
    ("bank", "strict"): _KANA + _ALNUM + "-",
    ("bank", "wide"): _KANA + _ALNUM + "-.()",
    ("name", "strict"): _KANA + _ALNUM + "()-.",
    ("name", "wide"): _KANA + _ALNUM + "()-.ｦ'+,/:?",
    ("edi", "strict"): _KANA + _ALNUM + "()-./\\｢｣ｦ",
    ("edi", "wide"): _KANA + _ALNUM + "()-./\\｢｣ｦ'+:?",
}
_DAKUTEN_BASES = set("ｳｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎ")
_HANDAKUTEN_BASES = set("ﾊﾋﾌﾍﾎ")
_TO_HYPHEN = "ー－‐‑‒–—―−ｰ~〜～"


def abbreviate_corporate(text: str) -> str:
    """株式会社ヤマダ → カ)ヤマダ, ヤマダ株式会社 → ヤマダ(カ, ヤマダ株式会社トウキヨウ → ヤマダ(カ)トウキヨウ.
    Works on full-width katakana (step 3 of the pipeline); spaces around the word are dropped."""
    for spellings, short in CORPORATE_ABBREVIATIONS:
        for spelling in spellings:
            at = text.find(spelling)
            if at < 0:
                continue
            before, after = text[:at].strip(" \u3000"), text[at + len(spelling):].strip(" \u3000")
            if not before:
                return f"{short})" + after
            if not after:
                return before + f"({short}"
            return f"{before}({short}){after}"
    return text


def to_zengin_kana(value: str, *, kind: str = "name", charset: str = "strict", length: int | None = None,
                   label: str = "名義カナ", abbreviate: bool = True) -> str:
    """`value` as a 全銀 C field may hold it (steps above). kind: "bank" (銀行名・支店名), "name"
    (委託者名・預金者名・受取人名) or "edi" (EDI情報); charset "strict" or "wide"; `length` in bytes (the
    result is single-byte cp932 only, so characters = bytes). DomainError in Japanese, naming `label`."""
    original = value or ""
    text = unicodedata.normalize("NFKC", original)
    text = text.replace("\u3099", "ﾞ").replace("\u309a", "ﾟ")  # marks NFKC could not put on a kana: orphans
    text = jaconv.hira2kata(text)
    if abbreviate and kind == "name":
        text = abbreviate_corporate(text)
    text = jaconv.enlarge_smallkana(text)
    for ch in _TO_HYPHEN:
        text = text.replace(ch, "-")
    text = text.replace("・", ".").replace("\u3000", " ").replace("ヰ", "イ").replace("ヱ", "エ")
    text = re.sub(" +", " ", text).strip()
    text = jaconv.z2h(text, kana=True, ascii=True, digit=True).upper()
    allowed = ZENGIN_CLASSES[(kind, charset)]
    bad = sorted({ch for ch in text if ch not in allowed}, key=text.index)
    if bad:
        shown = "、".join("スペース" if ch == " " else ch for ch in bad)
        raise DomainError(f"{label}「{original}」には全銀ファイルに書けない文字があります（{shown}）。"
                          "半角カナ・英大文字・数字と使える記号だけにしてください。", "kana")
    for i, ch in enumerate(text):
        before = text[i - 1] if i else ""
        if (ch == "ﾞ" and before not in _DAKUTEN_BASES) or (ch == "ﾟ" and before not in _HANDAKUTEN_BASES):
            raise DomainError(f"{label}「{original}」の濁点・半濁点（{ch}）が付けられない文字の後にあります。", "kana")
    if length is not None and len(text) > length:
        raise DomainError(f"{label}「{original}」は全銀ファイルでは{len(text)}バイトになり、{length}バイトに入りません"
                          f"（{text}）。短い登録名義（法人格の略語など）にしてください。切り詰めはしません。", "kana")
    return text
