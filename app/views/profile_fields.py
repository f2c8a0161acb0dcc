"""取込形式の入力欄 (issue 9 item 11): the column mapping, the vehicle-class codes and the header variants
as labelled tables instead of JSON. Each item of a usage row (カード番号, 利用日（出口）, 通行料金 …) has one
line: for a CSV the column's header text or number, for a fixed-width file its 開始位置 and バイト数. What is
stored is unchanged (ImportProfile.columns and friends, read by app/domain/usage_format.py)."""
import re

from markupsafe import Markup
from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from app.domain.text import to_half_width_digits
from app.domain.usage_format import FIELDS, ORDER, REQUIRED
from app.domain.vehicle_class import VEHICLE_CLASSES

_PLUS = re.compile(r"\s*[+＋]\s*")
_LIST = re.compile(r"\s*[、,，]\s*")


def _cell(name: str, value: str, label: str, size: str = "") -> Markup:
    return Markup('<input class="form-control{3}" type="text" name="{0}" value="{1}" aria-label="{2}">').format(
        name, value, label, size)


class _TableField(Field):
    """A field typed as a small table: `process` reads its own inputs (name-…) from the form data."""

    def _value(self):
        return ""

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        self.raw_data = None
        self.data = None if data is unset_value else data
        if formdata is not None and any(key.startswith(f"{self.name}-") for key in formdata):
            self.raw_data = formdata
            try:
                self.data = self.read(formdata)
            except ValueError as error:
                self.data = None
                self.process_errors.append(str(error))

    def read(self, formdata):
        raise NotImplementedError


# ── 列の対応 ───────────────────────────────────────────────────────────────────────────────────

def csv_text(spec) -> str:
    """A CSV column spec as typed: 見出し, 列番号, 見出しA＋見出しB (summed), 種類: 見出し、… (by kind)."""
    if spec is None:
        return ""
    if isinstance(spec, dict):
        return "、".join(f"{kind}: {csv_text(s)}" for kind, s in spec.items())
    if isinstance(spec, list):
        return "＋".join(csv_text(s) for s in spec)
    return str(spec)


def _csv_spec(text: str):
    if re.search(r"[:：]", text):
        pairs = [part for part in _LIST.split(text) if part]
        spec = {}
        for pair in pairs:
            kind, _, column = re.split(r"([:：])", pair, maxsplit=1)
            if not kind.strip() or not column.strip():
                raise ValueError(f"「{pair}」は「種類: 見出し」の形で書いてください")
            spec[kind.strip()] = _csv_spec(column.strip())
        return spec
    parts = [part for part in _PLUS.split(text) if part]
    specs = [int(to_half_width_digits(part)) if to_half_width_digits(part).isdigit() else part for part in parts]
    return specs[0] if len(specs) == 1 else specs


def fixed_texts(spec) -> tuple[str, str]:
    """A fixed-width spec ([start, width] or several summed) as the two boxes show it."""
    if not spec or isinstance(spec, dict):
        return "", ""
    if isinstance(spec[0], list):
        return "＋".join(str(s[0]) for s in spec), "＋".join(str(s[1]) for s in spec)
    return str(spec[0]), str(spec[1])


def _numbers(text: str, what: str, item: str) -> list[int]:
    parts = [to_half_width_digits(part) for part in _PLUS.split(text) if part]
    if not all(part.isdigit() for part in parts):
        raise ValidationError(f"{item}: {what}は0以上の整数で入力してください（足し合わせる列は 99＋105 のように）。")
    return [int(part) for part in parts]


class ColumnsWidget:
    def __call__(self, field, **kwargs):
        rows = []
        for key in ORDER:
            header, start, width = field.shown(key)
            need = Markup(' <strong style="color:red">&#42;</strong>') if key in REQUIRED else ""
            rows.append(Markup("<tr><th>{}{}</th><td>{}</td><td>{}</td><td>{}</td></tr>").format(
                FIELDS[key], need,
                _cell(f"{field.name}-{key}-csv", header, f"{FIELDS[key]} の列見出しまたは列番号"),
                _cell(f"{field.name}-{key}-start", start, f"{FIELDS[key]} の開始位置", " input-sm"),
                _cell(f"{field.name}-{key}-width", width, f"{FIELDS[key]} のバイト数", " input-sm")))
        return Markup('<table class="table table-condensed" id="{}"><thead><tr><th>項目</th>'
                      '<th>列見出し または 列番号（CSV）</th><th>開始位置（固定長）</th><th>バイト数（固定長）</th></tr></thead>'
                      '<tbody>{}</tbody></table>').format(field.name, Markup("").join(rows))


class ColumnsField(_TableField):
    """列の対応: item → column. Which boxes count depends on the form's ファイルの種類 (`file_type`)."""

    widget = ColumnsWidget()

    def shown(self, key) -> tuple[str, str, str]:
        if self.raw_data is not None:
            return tuple(self.raw_data.get(f"{self.name}-{key}-{part}", "") for part in ("csv", "start", "width"))
        spec = (self.data or {}).get(key)
        if spec is None:
            return "", "", ""
        if self.fixed_hint:
            return ("", *fixed_texts(spec))
        return csv_text(spec), "", ""

    fixed_hint = False  # set by the view from the stored profile: a fixed-width one shows 開始位置・バイト数

    def read(self, formdata):
        # Both kinds are read; the form keeps the one its ファイルの種類 names (pre_validate).
        self._typed = {key: tuple((formdata.get(f"{self.name}-{key}-{part}") or "").strip()
                                  for part in ("csv", "start", "width")) for key in ORDER}
        return None

    def pre_validate(self, form):
        typed = getattr(self, "_typed", None)
        if typed is None:
            return
        fixed = getattr(form, "file_type", None) is not None and form.file_type.data == "fixed"
        columns = {}
        for key in ORDER:
            header, start, width = typed[key]
            item = FIELDS[key]
            if fixed:
                if not start and not width:
                    continue
                starts, widths = _numbers(start, "開始位置", item), _numbers(width, "バイト数", item)
                if len(starts) != len(widths) or not starts:
                    raise ValidationError(f"{item}: 開始位置とバイト数を同じ数だけ入力してください。")
                if any(w == 0 for w in widths):
                    raise ValidationError(f"{item}: バイト数は1以上です。")
                pairs = [[s, w] for s, w in zip(starts, widths)]
                columns[key] = pairs[0] if len(pairs) == 1 else pairs
            elif header:
                try:
                    columns[key] = _csv_spec(header)
                except ValueError as error:
                    raise ValidationError(f"{item}: {error}") from None
        self.data = columns


# ── 車種コードの対応 ────────────────────────────────────────────────────────────────────────────

class ClassCodesWidget:
    def __call__(self, field, **kwargs):
        codes = field.codes_by_class()
        rows = Markup("").join(Markup("<tr><th>{}（{}）</th><td>{}</td></tr>").format(
            name, number, _cell(f"{field.name}-{number}", codes.get(number, ""), f"{name} のファイル上のコード"))
            for number, name in VEHICLE_CLASSES.items())
        return Markup('<table class="table table-condensed" id="{}" style="max-width:560px"><thead><tr><th>車種区分</th>'
                      '<th>ファイル上のコード（、区切りで複数）</th></tr></thead><tbody>{}</tbody></table>').format(
            field.name, rows)


class ClassCodesField(_TableField):
    """車種コードの対応: per 車種区分 the codes the file writes ({"01": 1, "02": 2} as stored)."""

    widget = ClassCodesWidget()

    def codes_by_class(self) -> dict[int, str]:
        if self.raw_data is not None:
            return {n: self.raw_data.get(f"{self.name}-{n}", "") for n in VEHICLE_CLASSES}
        shown: dict[int, list[str]] = {}
        for code, number in (self.data or {}).items():
            shown.setdefault(number, []).append(str(code))
        return {n: "、".join(codes) for n, codes in shown.items()}

    def read(self, formdata):
        codes = {}
        for number, name in VEHICLE_CLASSES.items():
            for code in _LIST.split((formdata.get(f"{self.name}-{number}") or "").strip()):
                if not code:
                    continue
                if code in codes:
                    raise ValueError(f"コード「{code}」が{VEHICLE_CLASSES[codes[code]]}と{name}の両方にあります。")
                codes[code] = number
        return codes or None


# ── 見出しの言い換え ────────────────────────────────────────────────────────────────────────────

class AliasesWidget:
    def __call__(self, field, **kwargs):
        pairs = list(field.pairs()) + [("", "")] * 2
        rows = Markup("").join(Markup("<tr><td>{}</td><td>{}</td></tr>").format(
            _cell(f"{field.name}-from", a, f"ファイルの書き方 {i + 1}行目"),
            _cell(f"{field.name}-to", b, f"取込形式の書き方 {i + 1}行目")) for i, (a, b) in enumerate(pairs))
        return Markup('<table class="table table-condensed" id="{}" style="max-width:560px"><thead><tr>'
                      '<th>ファイルの見出しの書き方</th><th>取込形式の書き方</th></tr></thead><tbody>{}</tbody></table>'
                      ).format(field.name, rows)


class AliasesField(_TableField):
    """見出しの言い換え: file's wording → the profile's ({"（入）": "（自）"} as stored)."""

    widget = AliasesWidget()

    def pairs(self):
        if self.raw_data is not None:
            yield from zip(self.raw_data.getlist(f"{self.name}-from"), self.raw_data.getlist(f"{self.name}-to"))
            return
        yield from (self.data or {}).items()

    def read(self, formdata):
        aliases = {}
        for i, (a, b) in enumerate(zip(formdata.getlist(f"{self.name}-from"), formdata.getlist(f"{self.name}-to"))):
            a, b = a.strip(), b.strip()
            if not a and not b:
                continue
            if not a:
                raise ValueError(f"{i + 1}行目: ファイルの見出しの書き方を入力してください。")
            aliases[a] = b
        return aliases or None


def columns_table(columns: dict, file_type: str) -> Markup:
    """The show page's 列の対応: one line per item the profile reads."""
    rows = []
    for key in ORDER:
        if key not in (columns or {}):
            continue
        spec = columns[key]
        if file_type == "fixed":
            start, width = fixed_texts(spec)
            where = f"開始位置 {start}・{width}バイト"
        else:
            where = csv_text(spec)
        rows.append(Markup("<tr><th>{}</th><td>{}</td></tr>").format(FIELDS[key], where))
    return Markup('<table class="table table-condensed" style="width:auto">{}</table>').format(Markup("").join(rows))


def class_codes_text(codes) -> str:
    return "、".join(f"{code} → {VEHICLE_CLASSES.get(number, number)}" for code, number in (codes or {}).items())


def aliases_text(aliases) -> str:
    return "、".join(f"{a} → {b}" for a, b in (aliases or {}).items())
