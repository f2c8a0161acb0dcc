"""The UI is entirely in Japanese: no English left from Flask-AppBuilder (stack-notes.md §2).

The English strings come from FAB 5.3.0 itself: every msgid that `pybabel extract` finds in the package
(python + jinja2 templates), WTForms' message catalog, and the few literals FAB hard-codes in its
templates. The admin walks every page reachable from the menu, every model view's list / add / show /
edit, the security screens and the login page; each page's visible text and the attribute values a user
reads (title, placeholder, alt, aria-label, button values, confirm texts, the search filter labels that
FAB hands to its JavaScript) must contain none of them. A second check rejects any Latin-letter word that
is not on a short whitelist, which catches English that no catalog knows of.
"""
import datetime as dt
import html
import json
import re
import warnings
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, login

# Literals that FAB 5.3.0 writes without _(): templates/appbuilder/general/confirm.html ('Cancel', 'OK'),
# alert.html ('OK'), charts/chart_time.html ('Month', 'Year'), static/appbuilder/js/ab.js (select2
# placeholders) and ab_actions.js ('No row selected').
FAB_LITERALS = {"Cancel", "OK", "Month", "Year", "Select a State", "Select", "No row selected",
                "An error occurred"}
# Picked up by the extractor but not UI text (widgets.py: template_args.get("form")).
NOT_UI = {"form"}

# Latin words that are legitimately on screen. Everything else written in Latin letters fails.
LATIN_WHITELIST = {
    "Tollbook", "ETC", "Excel", "ID", "NEXCO", "OK", "T", "xlsx", "IC", "JCT", "CSV", "YAML", "JSON", "PDF",
    # usernames and roles the fixtures create (data, not UI)
    "admin", "staff", "manager", "member", "Public",
}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+|\btest-setup\b")  # e-mail addresses; the fixtures' actor
T_NUMBER = re.compile(r"\bT\d{13}\b")
# FAB's security screens name permissions by their identifiers ("can list on MemberView", "menu access on
# List Users", the regexes of FAB_ROLES): data of app/security/roles.py and FAB, removed before the checks
# (see security_identifiers()).
_IDENTIFIERS: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def english_catalog() -> tuple[str, ...]:
    """The English msgids of FAB 5.3.0 and WTForms that could reach the screen."""
    import flask_appbuilder
    import wtforms
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    keywords = dict(DEFAULT_KEYWORDS, lazy_gettext=None, lazy_formatter_gettext=None)
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    msgids = set()
    for _, _, message, _, _ in extract_from_dir(Path(flask_appbuilder.__file__).parent, method_map,
                                                keywords=keywords):
        msgids.update([message] if isinstance(message, str) else message)
    with open(Path(wtforms.__file__).parent / "locale" / "wtforms.pot", "rb") as pot:
        for entry in read_po(pot):
            if entry.id:
                msgids.update([entry.id] if isinstance(entry.id, str) else entry.id)
    msgids |= FAB_LITERALS
    english = set()
    for msgid in msgids - NOT_UI:
        text = " ".join(msgid.split())
        # only real words and phrases; skip bare '%(...)s' fragments
        if len(re.sub(r"%\(\w+\)[sd]|%[sd]", "", text).strip(" .:,'")) >= 2:
            english.add(text)
    return tuple(sorted(english, key=len, reverse=True))


def _pattern(msgid: str) -> re.Pattern:
    parts = re.split(r"%\(\w+\)[sd]|%[sd]", msgid.rstrip(". "))
    body = ".+?".join(re.escape(part) for part in parts)
    return re.compile(r"(?<![A-Za-z])" + body + r"(?![A-Za-z])")


@lru_cache(maxsize=1)
def english_patterns():
    return [(msgid, _pattern(msgid)) for msgid in english_catalog()]


class _Visible(HTMLParser):
    """Text nodes and user-facing attribute values; <script>/<style> are skipped except the strings
    FAB passes to its search-filter JavaScript."""

    ATTRS = {"title", "placeholder", "alt", "aria-label", "data-text", "data-original-title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip = tag
            return
        for name in self.ATTRS & attrs.keys():
            if attrs[name]:
                self.chunks.append(attrs[name])
        kind = (attrs.get("type") or "").lower()
        if attrs.get("value") and (tag == "button" or kind in ("submit", "button", "reset")):
            self.chunks.append(attrs["value"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._skip = None

    def handle_endtag(self, tag):
        if tag == self._skip:
            self._skip = None

    def handle_data(self, data):
        if self._skip == "script":
            if "AdminFilters(" in data:
                self.chunks.extend(_filter_texts(data))
            return
        if self._skip is None and data.strip():
            self.chunks.append(data)


def _filter_texts(script: str) -> list[str]:
    """What FAB's search widget shows through JavaScript: the column labels, the filter names ("Contains",
    "Equal to", ...) and the HTML of the value fields, passed as JSON arguments of new AdminFilters(...)."""
    decoder = json.JSONDecoder()
    rest = script[script.index("AdminFilters(") + len("AdminFilters("):]
    rest = rest[rest.index(",") + 1:]
    args = []
    for _ in range(3):  # labels, form fields, filter names (the 4th, active filters, echoes the query)
        value, end = decoder.raw_decode(rest.lstrip())
        args.append(value)
        rest = rest.lstrip()[end:].lstrip().lstrip(",")
    labels, fields, filters = args
    texts = [str(label) for label in labels.values()]
    for field_html in fields.values():
        texts.extend(visible_chunks(field_html))
    for names in filters.values():
        texts.extend(str(name) for name in names)
    return texts


def visible_chunks(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return [" ".join(html.unescape(chunk).split()) for chunk in parser.chunks]


def english_on(page: str, latin: list[str] | None = None) -> list[str]:
    """Every English UI string of FAB's catalog on the page, with the text it was found in. Other Latin
    words not on the whitelist go to `latin` (reported as a warning: they are often data or code values)."""
    found = []
    latin = [] if latin is None else latin
    for chunk in visible_chunks(page):
        chunk = T_NUMBER.sub(" ", EMAIL.sub(" ", chunk))
        for identifier in _IDENTIFIERS:
            if identifier in chunk:
                chunk = chunk.replace(identifier, " ")
        for msgid, pattern in english_patterns():
            if pattern.search(chunk):
                found.append(f"catalog {msgid!r} in {chunk[:120]!r}")
        for word in re.findall(r"[A-Za-z][A-Za-z0-9'’.]*", chunk):
            word = word.rstrip(".")
            if word not in LATIN_WHITELIST and not re.search(r"\d", word):
                latin.append(f"latin {word!r} in {chunk[:120]!r}")
    return sorted(set(found))


# --- data -------------------------------------------------------------------------------------------

@pytest.fixture()
def data(app, db):
    from app.models import Agency, Card, CardEvent, Member, Vehicle
    from app.services.actor import acting_as
    from app.services.cards import prepare_new_card

    with app.app_context(), acting_as("test-setup"):
        agency = Agency(code="A001", name="みらい保険サービス", kana="ミライホケンサービス")
        member = Member(code="M0001", name="株式会社山田運輸", kana="ヤマダウンユ", agency=agency,
                        email="info@example.jp", payment_method="direct_debit", status="active")
        vehicle = Vehicle(member=member, plate_region="品川", plate_class_number="100", plate_kana="あ",
                          plate_serial=1234, vehicle_class=2, is_commercial=True)
        card = Card(number="9011000000001234", kind="corporate", issuer="NEXCO", member=member,
                    vehicle=vehicle, valid_from=dt.date(2026, 4, 1))
        db.session.add_all([agency, member, vehicle])
        prepare_new_card(db.session, card)
        db.session.commit()
        assert db.session.query(CardEvent).count() == 1
        yield {"member": member.id, "agency": agency.id, "vehicle": vehicle.id, "card": card.id}


# --- page walk ----------------------------------------------------------------------------------------

def _menu_hrefs(items):
    for item in items:
        if item.childs:
            yield from _menu_hrefs(item.childs)
        elif item.name != "-":
            yield item.get_url()


def security_identifiers(app) -> tuple[str, ...]:
    """Permission, view-menu and permission-on-view names as FAB prints them, longest first."""
    from app.extensions import appbuilder

    sm = appbuilder.sm
    with app.app_context():
        names = {str(pv) for pv in sm.session.query(sm.permissionview_model).all()}
        names |= {p.name for p in sm.session.query(sm.permission_model).all()}
        names |= {v.name for v in sm.session.query(sm.viewmenu_model).all()}
    return tuple(sorted(names, key=len, reverse=True))


@pytest.fixture()
def identifiers(app, db):
    global _IDENTIFIERS
    _IDENTIFIERS = security_identifiers(app)
    yield
    _IDENTIFIERS = ()


def admin_pages(app) -> list[str]:
    """Every menu href, plus list/add/show/edit of every model view, plus the security screens."""
    from flask_appbuilder import ModelView
    from flask_appbuilder.views import IndexView

    from app.extensions import appbuilder

    urls = ["/"]
    with app.test_request_context():
        urls += [u for u in _menu_hrefs(appbuilder.menu.get_list()) if u and u.startswith("/")]
        endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
        for view in appbuilder.baseviews:
            if isinstance(view, IndexView) or not isinstance(view, ModelView):
                continue
            name = view.endpoint
            perms = set(view.base_permissions or [])
            _, items = view.datamodel.query(page_size=1, page=0)
            pk = view.datamodel.get_pk_value(items[0]) if items else None
            for action, needs_pk in (("list", False), ("add", False), ("show", True), ("edit", True)):
                if f"{name}.{action}" not in endpoints or f"can_{action}" not in perms:
                    continue
                if needs_pk and pk is None:
                    continue
                from flask import url_for

                urls.append(url_for(f"{name}.{action}", pk=pk) if needs_pk else url_for(f"{name}.{action}"))
        admin = appbuilder.sm.find_user(username="admin")
        urls += ["/users/userinfo/", "/resetmypassword/form", f"/resetpassword/form?pk={admin.id}",
                 "/userinfoeditview/form", "/users/list/?_flt_0_username=admin"]
    return list(dict.fromkeys(urls))


LATIN_SEEN: list[str] = []


def _check(client, url, failures, method="get", **kwargs):
    try:
        response = getattr(client, method)(url, **kwargs)
    except Exception as error:  # a broken page must not hide the others (TESTING propagates exceptions)
        failures.append(f"{url}: {type(error).__name__}: {error}")
        return ""
    page = response.get_data(as_text=True)
    if response.status_code != 200:
        failures.append(f"{url}: HTTP {response.status_code}")
        return page
    latin: list[str] = []
    for problem in english_on(page, latin):
        failures.append(f"{url}: {problem}")
    LATIN_SEEN.extend(f"{url}: {word}" for word in sorted(set(latin)))
    return page


def test_catalog_knows_the_english_of_fab():
    """The reference list is real: FAB's and WTForms' messages, long enough to mean something."""
    english = set(english_catalog())
    assert len(english) > 150
    for msgid in ("Record Count", "No records found", "Add Filter", "Are you sure you want to delete this item?",
                  "Not a valid integer value.", "Already exists.", "Cancel", "List Users", "Sign In"):
        assert msgid in english


def test_checker_finds_english():
    page = ('<html><body><h1>組合員一覧</h1><a title="Edit record">x</a><script>var x="No row selected";</script>'
            '<p>記録数: 3</p><button type="button" class="btn">Cancel</button>'
            '<p>admin@tollbook.invalid T7000012050002 ETC2.0 Excelに出力</p></body></html>')
    found = english_on(page)
    assert any("'Edit record'" in f for f in found)
    assert any("'Cancel'" in f for f in found)
    assert not any("No row selected" in f or "tollbook" in f or "T7000" in f for f in found), found


def test_every_admin_page_is_japanese(app, client, data, identifiers):
    failures: list[str] = []
    login_page = _check(client, "/login/", failures)
    assert "ログイン" in login_page and "ユーザー名" in login_page and "パスワード" in login_page
    bad_login = _check(client, "/login/", failures, method="post",
                       data={"username": "admin", "password": "wrong"}, follow_redirects=True)
    assert "ログインできませんでした。ユーザー名とパスワードをご確認ください。" in bad_login

    login(client, "admin", ADMIN_PASSWORD)
    urls = admin_pages(app)
    # the menu walk really reached the business screens and the security screens
    for expected in ("/memberview/list/", "/agencyview/list/", "/vehicleview/list/", "/cardview/list/",
                     "/cardeventview/list/", "/operatorsettingsview/list/", "/auditlogview/list/",
                     "/users/list/", "/roles/list/", f"/memberview/show/{data['member']}",
                     f"/memberview/edit/{data['member']}", f"/cardview/show/{data['card']}",
                     "/vehicleview/add", "/users/add"):
        assert any(url.rstrip("/") == expected.rstrip("/") for url in urls), (expected, urls)
    # The admin has no member account, so the portal answers 403 for it; members are checked below.
    pages = {url: _check(client, url, failures) for url in urls if not url.startswith("/portal")}

    members = pages["/memberview/list/"]
    for japanese in ("組合員一覧", "件数", "検索条件を追加", "新規登録", "株式会社山田運輸", "詳細を表示"):
        assert japanese in members, japanese
    assert "ユーザー一覧" in pages["/users/list/"]
    assert "ロール一覧" in pages["/roles/list/"]
    assert "ユーザー情報" in pages["/users/userinfo/"]
    # the confirm dialog of the delete buttons
    # (the question names the row: issue 9 item 7; it is a JSON string in the page's script)
    questions = [json.loads(q) for q in re.findall(r"execute_single_delete\('[^']+', (\"[^\"]*\")\)", members)]
    assert "「M0001 株式会社山田運輸」を削除します。よろしいですか？" in questions and "キャンセル" in members
    # an empty list
    empty = _check(client, "/memberview/list/?_flt_0_code=該当なし", failures)
    assert "データがありません" in empty

    # flash messages after a save
    saved = _check(client, "/agencyview/add", failures, method="post",
                   data={"code": "A002", "name": "中央ビジネス"}, follow_redirects=True)
    assert "登録しました。" in saved
    _check(client, "/logout/", failures, method="post", follow_redirects=True)

    # the member portal, as a member
    from app.extensions import appbuilder, db as database
    from app.models import MemberAccount

    with app.app_context():
        user = appbuilder.sm.find_user(username="member1")
        database.session.add(MemberAccount(user_id=user.id, member_id=data["member"]))
        database.session.commit()
    login(client, "member1", MEMBER_PASSWORD)
    portal = _check(client, "/portal/", failures)
    assert "株式会社山田運輸" in portal
    # the portal's own pages (a member reaches nothing of the back office: tests/integration/test_portal_isolation.py)
    for url in ("/portal/documents/", "/portal/cards/", "/portal/password"):
        _check(client, url, failures)

    if LATIN_SEEN:
        warnings.warn("Latin words outside FAB's catalog (data, codes or app strings):\n"
                      + "\n".join(dict.fromkeys(LATIN_SEEN)))
    assert not failures, "English on screen:\n" + "\n".join(failures)


def _field_errors(page: str) -> list[str]:
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", block)).split())
            for block in re.findall(r'<div class="alert alert-danger">(.*?)</div>', page, re.S)]


def test_form_errors_are_japanese(admin_client, data):
    """Required fields, a wrong number and a wrong date come back in Japanese."""
    failures: list[str] = []
    member = str(data["member"])
    vehicle = {"member": member, "plate_region": "品川", "plate_class_number": "100", "plate_kana": "い",
               "plate_serial": "12", "vehicle_class": "1"}
    cases = [
        ("/vehicleview/add", dict(vehicle, plate_region=""), "入力してください"),
        ("/vehicleview/add", dict(vehicle, plate_serial="abc"), "一連番号"),
        (f"/operatorsettingsview/edit/{_operator_id()}",
         {"name": "テスト事業協同組合", "operator_type": "cooperative", "debit_day": "abc"}, "整数"),
        ("/cardview/add", {"number": "9011000000005678", "kind": "corporate", "member": member,
                           "vehicle": str(data["vehicle"]), "valid_from": "2026-13-45"}, "日付"),
        ("/agencyview/add", {"code": "", "name": "名前だけ"}, "入力してください"),
    ]
    for url, form, expected in cases:
        page = _check(admin_client, url, failures, method="post", data=form)
        errors = _field_errors(page)
        assert errors, f"{url} {form}: no error shown"
        assert any(expected in error for error in errors), (url, errors)
        for error in errors:
            for value in form.values():  # a message may quote what was typed
                error = error.replace(value, "") if value else error
            assert not re.search(r"[A-Za-z]{2,}", error), f"{url}: English in error {error!r}"
    assert not failures, "English on screen:\n" + "\n".join(failures)


def test_duplicate_code_error_is_japanese(admin_client, data):
    """FAB's Unique validator says 'Already exists.' through WTForms' catalog, which has no Japanese for it;
    FAB's field template passes every error through _(), so our catalog's entry is what the user reads."""
    page = admin_client.post("/agencyview/add", data={"code": "A001", "name": "重複"}).get_data(as_text=True)
    assert "Already exists" not in page
    assert "既に登録されています" in page


def _operator_id():
    from app.extensions import db as database
    from app.models import OperatorSettings

    return database.session.query(OperatorSettings.id).scalar()


# --- code names (issue 9 item 11) ---------------------------------------------------------------------

CODE_NAMES = {
    "snake_case word": re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b"),
    "permission code": re.compile(r"\bcan_\w+|\bmenu_access\b"),
    "view class": re.compile(r"\b[A-Z][A-Za-z]*View\b"),
    "command": re.compile(r"\bflask etc\b"),
    "documentation path": re.compile(r"\bdocs/[\w./-]+"),
}


def code_names_on(page: str) -> list[str]:
    """Identifiers a clerk cannot read, in the page's visible text (not in URLs, ids or scripts)."""
    found = []
    for chunk in visible_chunks(page):
        chunk = EMAIL.sub(" ", chunk)
        for kind, pattern in CODE_NAMES.items():
            for match in pattern.findall(chunk):
                found.append(f"{kind} {match!r} in {chunk[:100]!r}")
    return sorted(set(found))


def test_code_name_checker_finds_them():
    page = ('<html><body><p>規則 fee_reissue を適用</p><p>can_list on CardView</p><p>flask etc import を実行</p>'
            '<p>docs/tariff.md を参照</p><a href="/cardview/list/?_flt_0_number=1">カード</a>'
            '<p>info_desk@example.jp 2026年10月</p></body></html>')
    found = code_names_on(page)
    assert [f.split(" in ")[0] for f in found] == [
        "command 'flask etc'", "documentation path 'docs/tariff.md'", "permission code 'can_list'",
        "snake_case word 'can_list'", "snake_case word 'fee_reissue'", "view class 'CardView'"]


def test_no_code_names_on_any_page_of_any_role(app, client, data):
    """Every page the admin reaches (every screen of every role)."""
    failures: list[str] = []
    login(client, "admin", ADMIN_PASSWORD)
    for url in admin_pages(app):
        if url.startswith("/portal"):
            continue
        response = client.get(url)
        failures += [f"{url}: {problem}" for problem in code_names_on(response.get_data(as_text=True))]
    assert not failures, "\n".join(failures)
