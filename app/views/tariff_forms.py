"""料金表の入力欄 (issue 9 item 16): each rule type gets its own form with labelled fields instead of JSON.

A rule type's form is made of the fields for its parameters (its class's `required` and `optional`,
app/domain/pricing/<type>.py) — 金額 in yen, 率 in percent, 段階 as a small table, 対象, 端数処理 — so a
type added to the domain gets a form as soon as its parameter keys have a field here. The values are
turned into the rule's parameters and checked by app.domain.tariff.parse_rule, the same check as the
YAML import; its messages are shown on the field they are about, with the parameter names in Japanese."""
import re
from decimal import Decimal, InvalidOperation

from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from markupsafe import Markup
from wtforms import BooleanField, Field, HiddenField, SelectField, StringField
from wtforms.utils import unset_value
from wtforms.validators import InputRequired, Length, Optional, Regexp

from app.domain.card_lifecycle import EVENT_KINDS
from app.domain.card_number import CARD_KINDS
from app.domain.errors import DomainError
from app.domain.member_month import ROAD_CATEGORIES
from app.domain.pricing.breakdown import percent
from app.domain.pricing.member_discount import METHODS
from app.domain.pricing.non_taxable_usage import MATCH_KEYS
from app.domain.pricing.rounding import ROUNDING_NAMES
from app.domain.pricing.rule_type import VERSION_KEYS, rule_types
from app.domain.tariff import PARAMETER_TITLES, RULE_TYPES, SCOPE_KEYS, Scope, parse_rule
from app.domain.text import number_text

from .fields import JapaneseDateField

METHOD_NAMES = {"pass_through": "道路事業者の車両単位割引の一定割合を還元（還元率）",
                "table": "利用額に応じた率で割引（段階の表）"}
assert set(METHOD_NAMES) == set(METHODS)
MONTH_NAMES = {month: f"{month}月" for month in range(1, 13)}
# The choice that sets nothing (every card; the default road category): a value of its own, since select2
# shows an empty value as its placeholder instead of the choice's name.
ANY = "-"


def _number(text: str) -> Decimal:
    return Decimal(number_text(text))


def _rate_text(share: Decimal) -> str:
    """A percent as typed (9.8) as the rule keeps the rate: the 0〜1 decimal text ("0.098")."""
    return str((share / 100).normalize()) if share else "0"


def _shown(message: str) -> str:
    """A field error with its % doubled: FAB's field template passes errors through gettext's %-format."""
    return message.replace("%", "%%")


# ── fields ─────────────────────────────────────────────────────────────────────────────────────

class YenField(StringField):
    """金額: a whole number of yen, typed with or without thousands separators (1,000 or 1000)."""

    widget = BS3TextFieldWidget()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:,}" if isinstance(self.data, int) else ""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "") or ""
        text = text.replace("円", "").strip()
        if not text:
            self.data = None
            return
        try:
            value = _number(text)
        except InvalidOperation:
            self.data = None
            raise ValueError("金額は円の整数で入力してください（例: 660、1,000）。") from None
        if value != value.to_integral_value() or value < 0:
            self.data = None
            raise ValueError("金額は0以上の整数（円）で入力してください。")
        self.data = int(value)


class PercentField(StringField):
    """率: typed in percent (2 or 9.8 or 10%), kept as the rule's 0〜1 decimal text ("0.02")."""

    widget = BS3TextFieldWidget()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data in (None, ""):
            return ""
        return percent(Decimal(str(self.data))).rstrip("%")

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "") or ""
        text = text.replace("%", "").replace("％", "").strip()
        if not text:
            self.data = None
            return
        try:
            value = _number(text)
        except InvalidOperation:
            self.data = None
            raise ValueError(_shown("率は % の数で入力してください（8% なら 8、9.8% なら 9.8）。")) from None
        if not Decimal(0) <= value <= Decimal(100):
            self.data = None
            raise ValueError(_shown("率は 0〜100 の数で入力してください（8% なら 8）。"))
        self.data = _rate_text(value)


class StepsWidget:
    """段階 as a small table: one row per step (the amount, the rate in %), two blank rows to add more."""

    def __call__(self, field, **kwargs):
        rows = list(field.rows_shown())
        rows += [("", "")] * 2
        up_head, rate_head = field.headings
        body = Markup("").join(
            Markup('<tr><td><input class="form-control" type="text" name="{0}-amount" value="{1}" '
                   'aria-label="{2} {4}段目"></td>'
                   '<td><input class="form-control" type="text" name="{0}-rate" value="{3}" '
                   'aria-label="{5} {4}段目"></td></tr>').format(field.name, amount, up_head, rate, i + 1, rate_head)
            for i, (amount, rate) in enumerate(rows))
        return Markup('<table class="table table-condensed tariff-steps" id="{0}" style="max-width:480px">'
                      '<thead><tr><th>{1}</th><th>{2}</th></tr></thead><tbody>{3}</tbody></table>').format(
            field.name, up_head, rate_head, body)


class StepsField(Field):
    """段階 (bands: [[上限額 or null, 率], …]; tiers: [[超える額, 率], …]) typed as a table. A bands
    table's last step may leave its amount blank: 上限なし."""

    widget = StepsWidget()

    def __init__(self, label=None, validators=None, headings=("", ""), open_last=False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.headings = headings
        self.open_last = open_last

    def rows_shown(self):
        if self.raw_data is not None and self.raw_data:
            yield from self.raw_data
            return
        for amount, rate in self.data or []:
            yield ("" if amount is None else f"{int(amount):,}", percent(Decimal(str(rate))).rstrip("%"))

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        self.raw_data = None
        self.data = None if data is unset_value else data
        if formdata is None or f"{self.name}-amount" not in formdata:
            return
        amounts, rates = formdata.getlist(f"{self.name}-amount"), formdata.getlist(f"{self.name}-rate")
        self.raw_data = [(a.strip(), r.strip()) for a, r in zip(amounts, rates)]
        rows, last = [], len([1 for a, r in self.raw_data if a or r])
        try:
            for number, (amount, rate) in enumerate((a, r) for a, r in self.raw_data if a or r):
                where = f"{number + 1}段目"
                if not rate:
                    raise ValueError(f"{where}: {self.headings[1]}を入力してください。")
                if not amount and not (self.open_last and number + 1 == last):
                    raise ValueError(f"{where}: {self.headings[0]}を入力してください"
                                     + ("（上限なしは最後の段だけです）。" if self.open_last else "。"))
                try:
                    yen = None if not amount else _number(amount.replace("円", ""))
                    share = _number(rate.replace("%", "").replace("％", ""))
                except InvalidOperation:
                    raise ValueError(f"{where}: 金額は円の整数、率は % の数で入力してください（10% なら 10）。") from None
                if yen is not None and (yen != yen.to_integral_value() or yen < 0):
                    raise ValueError(f"{where}: 金額は0以上の整数（円）で入力してください。")
                if not Decimal(0) <= share <= Decimal(100):
                    raise ValueError(f"{where}: 率は 0〜100 の数で入力してください。")
                rows.append([None if yen is None else int(yen), _rate_text(share)])
        except ValueError as error:
            self.data = None
            self.process_errors.append(_shown(str(error)))
            return
        self.data = rows or None

    def _value(self):
        return ""


class ListTextField(StringField):
    """A few words (IC names, 道路事業者, words of 備考) separated by 、 or , or a new line."""

    widget = BS3TextFieldWidget()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "、".join(self.data or [])

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "") or ""
        self.data = [word.strip() for word in re.split(r"[、,，\n]", text) if word.strip()] or None


# ── which field each parameter is ──────────────────────────────────────────────────────────────

def _param_field(key: str, required: bool):
    need = [InputRequired()] if required else [Optional()]
    fields = {
        "amount": lambda: YenField("金額（円）", need, description="税込・円の整数"),
        "amount_per_row": lambda: YenField("1件あたりの不課税額（円）", need,
                                           description="空欄なら、当てはまる行の全額を不課税にします。"),
        "threshold_total": lambda: YenField("合計の基準額（円）", need, description="この額を超えたときに割引します。"),
        "threshold_average": lambda: YenField("1台あたり平均の基準額（円）", need,
                                              description="1台あたりの平均がこの額を超えたときに割引します。"),
        "rate": lambda: PercentField("率（％）", need, description="% の数で入力します（8% なら 8、9.8% なら 9.8）。"),
        "ratio": lambda: PercentField("還元率（％）", [Optional()],
                                      description="道路事業者の割引のうち組合員に還元する割合（全額なら 100）。"),
        "event": lambda: SelectField("異動の種類", choices=list(EVENT_KINDS.items()), validators=need,
                                     widget=Select2Widget()),
        "month": lambda: SelectField("請求する月", choices=list(MONTH_NAMES.items()), coerce=int, validators=need,
                                     widget=Select2Widget(), description="この月の請求だけに加えます。"),
        "method": lambda: SelectField("還元の方式", choices=list(METHOD_NAMES.items()), validators=need,
                                      widget=Select2Widget()),
        "bands": lambda: StepsField("段階", headings=("上限額（円・その額を含む）", "割引率（％）"), open_last=True,
                                    description="段階ごとに、その段に入った部分だけに率を掛けます。最後の段は上限額を空欄（上限なし）に。"),
        "etc2_commercial_bands": lambda: StepsField(
            "ETC2.0事業用の段階", headings=("上限額（円・その額を含む）", "割引率（％）"), open_last=True,
            description="ETC2.0 事業用車両に使う段階（なければ空欄）。"),
        "etc2_valid_to": lambda: JapaneseDateField("ETC2.0事業用の段階の適用終了日", [Optional()]),
        "tiers": lambda: StepsField("段階", headings=("利用額がこの額を超えたら（円）", "割引率（％）"),
                                    description="組合員の月の利用額が超えた最も高い段の率を、利用額全体に掛けます。"),
        "road_operator": lambda: StringField("道路事業者（前方一致）", [Optional(), Length(max=60)],
                                             widget=BS3TextFieldWidget(),
                                             description="例: NEXCO（NEXCO東日本・中日本・西日本に当たります）。空欄ならすべての行。"),
        "road_category": lambda: SelectField("道路区分", choices=[(ANY, "高速国道（指定なし）")] + list(ROAD_CATEGORIES.items()),
                                             default=ANY, validators=[Optional()], widget=Select2Widget()),
    }
    if key == "match":
        return {f"match_{part}": ListTextField(name, [Optional()], description="、で区切って複数書けます。")
                for part, name in MATCH_KEYS.items()}
    return {key: fields[key]()}


def param_field_names(type_name: str) -> list[str]:
    kind = rule_types()[type_name]
    names = []
    for key in (*kind.required, *kind.optional):
        names += [f"match_{part}" for part in MATCH_KEYS] if key == "match" else [key]
    return names


SCOPE_FIELDS = {"card_kind": "scope_card_kind", "member_code": "scope_member_code",
                "member_group": "scope_member_group", "agency_code": "scope_agency_code"}


def _common_fields(mode: str) -> dict:
    fields = {
        "type": HiddenField(),
        "label": StringField("名称", [InputRequired(), Length(max=100)], widget=BS3TextFieldWidget(),
                             description="請求書の明細に出る名前（例: 事務手数料（クレジットカード））"),
        "scope_card_kind": SelectField("対象のカード", choices=[(ANY, "すべてのカード")] + list(CARD_KINDS.items()),
                                       default=ANY, validators=[Optional()], widget=Select2Widget()),
        "scope_member_code": StringField(SCOPE_KEYS["member_code"], [Optional(), Length(max=20)],
                                         widget=BS3TextFieldWidget(), description="1組合員だけに当てるとき（空欄なら全組合員）"),
        "scope_member_group": StringField(SCOPE_KEYS["member_group"], [Optional(), Length(max=50)],
                                          widget=BS3TextFieldWidget(), description="そのグループの組合員だけに当てるとき"),
        "scope_agency_code": StringField(SCOPE_KEYS["agency_code"], [Optional(), Length(max=20)],
                                         widget=BS3TextFieldWidget(), description="その代理店の組合員だけに当てるとき"),
        "rounding": SelectField("端数処理", choices=list(ROUNDING_NAMES.items()), default="floor",
                                widget=Select2Widget(), description="1円未満の端数の扱い"),
    }
    if mode == "revise":
        fields["valid_from"] = JapaneseDateField("改定日（新しい版の有効開始日）", [InputRequired()],
                                                 description="今の版はこの前日で終わります。月の1日にすると、その月の請求から新しい版で計算します。")
    else:
        fields["valid_from"] = JapaneseDateField("有効開始日", [InputRequired()],
                                                 description="この日を含む月から適用します（月の1日で判定）。")
        fields["valid_to"] = JapaneseDateField("有効終了日", [Optional()],
                                               description="空欄なら期限なし。料率を変えるときは「改定」を使います。")
        fields["ended"] = BooleanField("この版で規則を終える",
                                       description="有効終了日のあと、この規則を請求しない期間があるときに印を付けます。")
    if mode == "add":
        fields["rule_id"] = StringField("規則コード（任意）", [Optional(), Length(max=60), Regexp(
            r"^[A-Za-z0-9_.\-]+$", message="規則コードは半角英数字と - _ . で入力してください（空欄なら自動で付けます）。")],
            widget=BS3TextFieldWidget(), description="料金表ファイルで規則を見分ける記号。空欄なら自動で付けます。")
    return fields


# ── the form of one type ───────────────────────────────────────────────────────────────────────

_PREFIX = re.compile(r"^規則\d+（[^）]*）:\s*")
# Parameter names inside the domain's messages, longest first ("amount_per_row" before "amount").
_NAMES = sorted({**PARAMETER_TITLES, "valid_from": "有効開始日", "valid_to": "有効終了日", "scope": "対象",
                 "rounding": "端数処理", "pass_through": "還元率の方式", "table": "段階の表の方式"}.items(),
                key=lambda kv: -len(kv[0]))


def japanese_message(message: str) -> str:
    """A parse_rule message as a form shows it: without the rule prefix, parameter names in Japanese,
    and % doubled (FAB's field template passes errors through gettext, which %-formats them)."""
    message = _PREFIX.sub("", message)
    for key, title in _NAMES:
        message = re.sub(rf"(?<![A-Za-z_]){re.escape(key)}(?![A-Za-z_])", title, message)
    return message.replace("%", "%%")


class TariffTypeForm(DynamicForm):
    """Base of every type's form; `rule_type` and `mode` are set on the generated subclass."""

    rule_type = ""
    mode = "add"
    param_names: list[str] = []
    existing_rule_id = ""  # the rule whose version is edited or revised (set by the view)
    version_problems = None  # the view's check against the rule's other versions: data → [message]

    def fill_from(self, row) -> None:
        """The form's fields from a stored version (edit, and 改定 starting from the current values)."""
        params = dict(row.params or {})
        self.type.data = row.type
        self.label.data = row.label
        self.rounding.data = row.rounding or "floor"
        if self.mode != "revise":
            self.valid_from.data, self.valid_to.data = row.valid_from, row.valid_to
            self.ended.data = bool(params.get("ended"))
        for key, name in SCOPE_FIELDS.items():
            getattr(self, name).data = (row.scope or {}).get(key) or (ANY if key == "card_kind" else "")
        match = params.get("match") or {}
        for name in self.param_names:
            if name.startswith("match_"):
                getattr(self, name).data = match.get(name[len("match_"):])
            elif name in params:
                field = getattr(self, name)
                field.data = params[name]
                if name == "etc2_valid_to" and params[name]:
                    from app.domain.pricing.rule_type import parse_date
                    field.data = parse_date(params[name], "")

    def params(self) -> dict:
        params, match = {}, {}
        for name in self.param_names:
            value = getattr(self, name).data
            if value in (None, "", [], ANY):
                continue
            if name.startswith("match_"):
                match[name[len("match_"):]] = value
            elif name == "etc2_valid_to":
                params[name] = value.isoformat()
            else:
                params[name] = value
        if match or any(n.startswith("match_") for n in self.param_names):
            params["match"] = match
        if self.rule_type == "member_discount":
            # the other method's parameter means nothing: not kept
            params.pop("tiers" if params.get("method") == "pass_through" else "ratio", None)
        if self.mode != "revise" and self.ended.data:
            params["ended"] = True
        return params

    def scope(self) -> dict:
        return {key: getattr(self, name).data.strip() for key, name in SCOPE_FIELDS.items()
                if (getattr(self, name).data or "").strip() not in ("", ANY)}

    def rule_data(self, rule_id: str) -> dict:
        data = {"id": rule_id or "new", "type": self.rule_type, "label": self.label.data,
                "valid_from": self.valid_from.data, **self.params(), "scope": self.scope(),
                "rounding": self.rounding.data}
        if self.mode != "revise":
            data["valid_to"] = self.valid_to.data
        return data

    def _field_of(self, message: str):
        """The field a domain message is about (it names the parameter)."""
        for name in sorted(self.param_names, key=len, reverse=True):
            key = "match" if name.startswith("match_") else name
            if re.search(rf"(?<![A-Za-z_]){re.escape(key)}(?![A-Za-z_])", message):
                return getattr(self, name)
        if "valid_to" in message and self.mode != "revise":
            return self.valid_to
        if "scope" in message:
            return self.scope_card_kind
        return self.valid_from

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.rule_type == "member_discount" and self.method.data:
            if self.method.data == "pass_through" and not self.ratio.data and not self.ratio.errors:
                self.ratio.errors = [*self.ratio.errors, "この方式では還元率を入力してください。"]
                ok = False
            if self.method.data == "table" and not self.tiers.data and not self.tiers.errors:
                self.tiers.errors = [*self.tiers.errors, "この方式では段階を1段以上入力してください。"]
                ok = False
        if self.rule_type == "non_taxable_usage" and not self.params().get("match"):
            self.match_ic.errors = [*self.match_ic.errors, "IC名・道路事業者・備考の語のどれかを入力してください。"]
            ok = False
        if not ok:
            return False
        rule_id = self.existing_rule_id or ((self.rule_id.data or "").strip() if self.mode == "add" else "")
        try:
            parse_rule(self.rule_data(rule_id))
        except DomainError as error:
            field = self._field_of(error.message)
            field.errors = [*field.errors, japanese_message(error.message)]
            return False
        if self.mode != "revise" and rule_id and self.version_problems is not None:
            problems = self.version_problems(self.rule_data(rule_id))
            if problems:
                self.valid_from.errors = [*self.valid_from.errors, *problems]
                return False
        return True

    def populate_obj(self, item):
        item.type = self.rule_type
        item.label = self.label.data
        item.valid_from = self.valid_from.data
        if self.mode != "revise":
            item.valid_to = self.valid_to.data
        item.params = self.params()
        item.scope = self.scope()
        item.rounding = self.rounding.data
        if self.mode == "add" and (self.rule_id.data or "").strip():
            item.rule_id = self.rule_id.data.strip()

    @property
    def shown_fields(self) -> list[str]:
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    @property
    def fieldsets(self) -> list:
        period = ["valid_from"] if self.mode == "revise" else ["valid_from", "valid_to", "ended"]
        first = ["label"] + (["rule_id"] if self.mode == "add" else [])
        return [
            (f"{RULE_TYPES[self.rule_type]}", {"fields": first + self.param_names}),
            ("対象", {"fields": list(SCOPE_FIELDS.values())}),
            ("期間・端数処理", {"fields": period + ["rounding"]}),
        ]


_FORMS: dict[tuple[str, str], type] = {}


def form_class(type_name: str, mode: str = "add") -> type[TariffTypeForm]:
    """The form of one rule type ('add', 'edit' or 'revise'), made once."""
    key = (type_name, mode)
    if key not in _FORMS:
        kind = rule_types()[type_name]
        attributes = {"rule_type": type_name, "mode": mode, "param_names": param_field_names(type_name),
                      **_common_fields(mode)}
        for param in (*kind.required, *kind.optional):
            attributes.update(_param_field(param, param in kind.required and param not in ("ratio",)))
        _FORMS[key] = type(f"{''.join(p.title() for p in type_name.split('_'))}Form", (TariffTypeForm,), attributes)
    return _FORMS[key]


def describe_params(type_name: str, params: dict) -> Markup:
    """A version's parameters as labelled lines (the rule's page, the side-by-side versions); 段階 as a table."""
    params = dict(params or {})
    lines = []
    kind = rule_types().get(type_name)
    keys = [k for k in (*(kind.required if kind else ()), *(kind.optional if kind else ())) if k in params]
    keys += [k for k in params if k not in keys and k not in VERSION_KEYS]
    for key in keys:
        value = params[key]
        title = PARAMETER_TITLES.get(key, key)
        if key in ("bands", "etc2_commercial_bands", "tiers"):
            head = "利用額がこの額を超えたら" if key == "tiers" else "上限額"
            rows = Markup("").join(Markup("<tr><td>{}</td><td>{}</td></tr>").format(
                "上限なし" if amount is None else f"{int(amount):,}円", percent(Decimal(str(rate))))
                for amount, rate in value or [])
            lines.append(Markup('<div>{}</div><table class="table table-condensed tariff-steps-shown" '
                                'style="width:auto"><tr><th>{}</th><th>割引率</th></tr>{}</table>').format(
                title, head, rows))
            continue
        if key == "match":
            shown = "、".join(f"{MATCH_KEYS.get(k, k)}: {'・'.join(v)}" for k, v in (value or {}).items())
        elif key in ("rate", "ratio"):
            shown = percent(Decimal(str(value)))
        elif key.startswith(("amount", "threshold")):
            shown = f"{int(value):,}円"
        elif key == "event":
            shown = EVENT_KINDS.get(value, value)
        elif key == "month":
            shown = MONTH_NAMES.get(value, value)
        elif key == "method":
            shown = METHOD_NAMES.get(value, value)
        elif key == "road_category":
            shown = ROAD_CATEGORIES.get(value, value)
        else:
            shown = value
        lines.append(Markup("<div>{}: {}</div>").format(title, shown))
    if params.get("ended"):
        lines.append(Markup("<div>この版で規則を終える</div>"))
    return Markup("").join(lines) or Markup("")


def scope_text(value) -> str:
    """{"card_kind": "credit"} → 対象のカード: クレジットカード; nothing → 全組合員・全カード."""
    if isinstance(value, Scope):
        value = {k: v for k, v in vars(value).items() if v is not None}
    if not value:
        return "全組合員・全カード"
    parts = []
    for key, v in value.items():
        if key == "card_kind":
            parts.append(f"対象のカード: {CARD_KINDS.get(v, v)}")
        else:
            parts.append(f"{SCOPE_KEYS.get(key, key)}: {v}")
    return "、".join(parts)
