"""車両番号 (number plate) in its four parts: 地名, 分類番号, ひらがな, 一連番号.

Rules from 道路運送車両法施行規則 and the MLIT plate rules:
- 地名: the 運輸支局 or ご当地 name, 1 to 5 kanji/kana (品川, 尾張小牧, 富士山, 袖ケ浦).
- 分類番号: 1 to 3 characters, the first a digit 1–9; since 2018 the 2nd and 3rd may also be one of
  the letters A C F H K L M P X Y (MLIT 2017-11 notice on 分類番号のアルファベット化).
- ひらがな: one kana; お, し, へ, ん are never used.
- 一連番号: 1 to 9999, printed as ・・12, ・123 or 12-34.
"""
import re
from dataclasses import dataclass

from .errors import DomainError
from .text import to_half_width_digits

_REGION = re.compile(r"^[\u4E00-\u9FFF\u3041-\u3096\u30A1-\u30FAヶ々]{1,5}$")
_CLASS_NUMBER = re.compile(r"^[1-9][0-9ACFHKLMPXY]{0,2}$")
_KANA = re.compile(r"^[\u3041-\u3096]$")
_UNUSED_KANA = set("おしへん")


@dataclass(frozen=True)
class Plate:
    region: str
    class_number: str
    kana: str
    serial: int

    def __str__(self) -> str:
        return f"{self.region} {self.class_number} {self.kana} {format_serial(self.serial)}"


def format_serial(serial: int) -> str:
    text = str(serial)
    if len(text) == 4:
        return f"{text[:2]}-{text[2:]}"
    return "・" * (4 - len(text)) + text


def parse_serial(value) -> int:
    text = to_half_width_digits(str(value if value is not None else "")).replace("・", "").replace("-", "")
    text = text.replace("·", "").replace(".", "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 9999:
        raise DomainError(f"一連番号「{value}」は1〜9999の数字です。", "plate_serial")
    return int(text)


def make_plate(region: str, class_number: str, kana: str, serial) -> Plate:
    region = (region or "").strip()
    if not _REGION.match(region):
        raise DomainError(f"地名「{region}」は1〜5文字の漢字・かなで入力してください（例: 品川）。", "plate_region")
    class_number = to_half_width_digits(str(class_number or "")).upper()
    if not _CLASS_NUMBER.match(class_number):
        raise DomainError(f"分類番号「{class_number}」は1〜3桁の数字です（例: 100, 30A）。", "plate_class_number")
    kana = (kana or "").strip()
    if not _KANA.match(kana):
        raise DomainError(f"ひらがな「{kana}」はひらがな1文字で入力してください（例: あ）。", "plate_kana")
    if kana in _UNUSED_KANA:
        raise DomainError(f"ひらがな「{kana}」はナンバープレートに使われません（お・し・へ・ん は不可）。", "plate_kana")
    return Plate(region, class_number, kana, parse_serial(serial))


_WHOLE = re.compile(r"^\s*(\S+?)\s*([0-9０-９][0-9０-９A-ZＡ-Ｚ]{0,2})\s*([\u3041-\u3096])\s*([0-9０-９・\-－]{1,5})\s*$")


def parse_plate(text: str) -> Plate:
    """Read a plate written on one line, as in imports: 品川 300 あ 12-34 or 品川300あ1234."""
    match = _WHOLE.match(text or "")
    if not match:
        raise DomainError(f"車両番号「{text}」を読み取れません（例: 品川 300 あ 12-34）。", "plate")
    return make_plate(*match.groups())


def squash_plate(text: str | None) -> str:
    """A plate as written in a file or shown (品川 100 あ 12-34) without spaces and hyphens, for comparing
    the plates of usage rows with the vehicles' plates."""
    return re.sub(r"[\s\-]", "", text or "")
