"""The isolation matrix of the member portal (issue 12 item 4), built from the app's URL map: every route
of the app is classified here, so a new route whose view is not classified fails this suite.

Member A (M001, login member1) and member B (M002, login member2) each have a closed month whose eight
documents were rendered by the real renderer. For every route and method:
- member A: the portal's pages show A's data and never B's; A's files are exactly the stored bytes; B's
  files, unknown tokens and every back-office, API, export and audit-log route answer 403 or 404 without
  B's data;
- member B: the same the other way round for the files;
- nobody logged in: sent to the login page (or 401 from the API), never served;
- staff without a member link: the portal answers 403; staff linked to A see A's portal only.
"""
import pytest
from flask import url_for
from sqlalchemy import select

from app.models import Invoice, IssuedDocument
from tests.conftest import MEMBER_PASSWORD, STAFF_PASSWORD, login

from .portal_data import B_NAME, C1, C2, C3, LONG_NAME, real_month

# Every view (the part of the endpoint before the dot) whose routes a member must not reach.
BACK_OFFICE_VIEWS = {
    # business screens
    "MemberView", "AgencyView", "VehicleView", "CardView", "CardEventView", "CardRenewalView", "MasterImportView",
    "OperatorSettingsView", "UsageUploadView", "ImportBatchView", "UsageRecordView", "UnregisteredCardView",
    "UsageAlertView", "DuplicateUsageView", "OffMonthUsageView", "UnknownOperatorView", "ImportProfileView",
    "IcMasterView", "BillingView", "InvoiceView", "InvoiceListView", "IssuedDocumentView", "TariffRuleView",
    "PortalLoginView", "CollectionProfileView", "DebitBatchView", "PaymentListView", "DebitResultView",
    "TransferReceiptView", "UnpaidView", "AgencyCommissionView", "AgencyCommissionRuleView",
    # 定期処理 and its runs
    "ScheduledJobView", "JobRunView",
    # the audit log and its export
    "AuditLogView",
    # FAB's security screens, its REST API (/api/v1/…) and utilities
    "TollbookUserDBModelView", "TollbookRoleModelView", "RoleModelView", "PermissionModelView", "PermissionViewModelView",
    "ViewMenuModelView", "UserGroupModelView", "UserStatsChartView", "UserInfoEditView",
    "TollbookResetPasswordView", "TwoFactorView", "MenuApi", "UtilView", "LocaleView",
}
# Reached by anybody (the start page sends members to the portal).
PUBLIC = {"static", "appbuilder.static", "TollbookAuthDBView.login", "TollbookAuthDBView.logout",
          "TollbookIndexView.index", "health"}
# A member's own password change: sent to the portal's page.
REDIRECTED_TO_PORTAL = {"TollbookResetMyPasswordView.this_form_get", "TollbookResetMyPasswordView.this_form_post"}
PORTAL_PAGES = {"PortalView.index", "PortalView.documents", "PortalView.cards", "PortalView.password"}
PORTAL_FILES = {"PortalView.file"}
ARGUMENTS = {"month": "2026-10", "filename": "x.pdf", "name": "x", "job_id": "x", "group_by": "x",
             "locale": "ja"}


def classify(endpoint: str) -> str:
    if endpoint in PUBLIC:
        return "public"
    if endpoint in REDIRECTED_TO_PORTAL:
        return "own-password"
    if endpoint in PORTAL_PAGES:
        return "portal-page"
    if endpoint in PORTAL_FILES:
        return "portal-file"
    if endpoint.split(".")[0] in BACK_OFFICE_VIEWS:
        return "back-office"
    return "unclassified"


def routes(app):
    """(endpoint, rule, methods) of every route of the app."""
    return [(rule.endpoint, rule, sorted(rule.methods - {"HEAD", "OPTIONS"})) for rule in app.url_map.iter_rules()]


def test_every_route_is_classified(app):
    unclassified = sorted({f"{endpoint} {rule.rule}" for endpoint, rule, _ in routes(app)
                           if classify(endpoint) == "unclassified"})
    assert not unclassified, ("Routes without an isolation class (add the view to BACK_OFFICE_VIEWS, or the endpoint "
                              "to the portal's sets, in tests/integration/test_portal_isolation.py):\n"
                              + "\n".join(unclassified))


def build_url(app, endpoint, rule, object_id):
    values = {}
    object_id = object_id if object_id is not None else 1
    for name in rule.arguments:
        integer = type(rule._converters.get(name)).__name__ == "IntegerConverter"
        values[name] = object_id if name == "pk" or integer else ARGUMENTS.get(name, "x")
    with app.test_request_context():
        return url_for(endpoint, **values)


@pytest.fixture()
def portal(db, tmp_path):
    return real_month(db, tmp_path)


def markers_of_b(db, data):
    number = db.session.scalar(select(Invoice.number).where(Invoice.id == data.b_invoice))
    return [B_NAME, "M002", C3, C3[-4:], number]


def markers_of_a(db, data):
    number = db.session.scalar(select(Invoice.number).where(Invoice.id == data.a_invoice))
    return [LONG_NAME, C1[-4:], C2[-4:], number]


def stored(db, token):
    return db.session.scalar(select(IssuedDocument.content).where(IssuedDocument.token == token))


def check(condition, failures, message):
    if not condition:
        failures.append(message)


def test_the_isolation_matrix(app, client, db, portal):
    """Every route × method × who. The number of checks is printed (docs/portal.md quotes it)."""
    data = portal
    b_markers, a_markers = markers_of_b(db, data), markers_of_a(db, data)
    failures, checks = [], 0
    all_routes = routes(app)
    b_invoice = data.b_invoice

    def body_free_of(response, markers, what):
        text = response.get_data(as_text=True) if response.mimetype.startswith("text") else ""
        for marker in markers:
            check(marker not in text, failures, f"{what}: shows {marker!r}")

    # ---- member A ---------------------------------------------------------------------------------
    login(client, "member1", MEMBER_PASSWORD)
    for endpoint, rule, methods in all_routes:
        kind = classify(endpoint)
        for method in methods:
            what = f"member A {method} {rule.rule} ({endpoint})"
            if kind == "back-office":
                url = build_url(app, endpoint, rule, b_invoice)
                response = client.open(url, method=method)
                checks += 1
                check(response.status_code == 403, failures, f"{what}: {response.status_code}, not 403")
                body_free_of(response, b_markers + a_markers, what)
            elif kind == "own-password":
                response = client.open(build_url(app, endpoint, rule, None), method=method)
                checks += 1
                check(response.status_code in (302, 307) and response.headers["Location"].endswith("/portal/password"),
                      failures, f"{what}: {response.status_code} {response.headers.get('Location')}")
            elif kind == "portal-page" and method == "GET":
                response = client.get(build_url(app, endpoint, rule, None))
                checks += 1
                check(response.status_code == 200, failures, f"{what}: {response.status_code}")
                check(LONG_NAME in response.get_data(as_text=True), failures, f"{what}: A's name missing")
                body_free_of(response, b_markers, what)
            elif kind == "portal-file":
                for key, token in data.a_tokens.items():
                    response = client.get(f"/portal/file/{token}")
                    checks += 1
                    check(response.status_code == 200 and response.data == stored(db, token), failures,
                          f"{what} A's {key}: {response.status_code} or not the stored bytes")
                for key, token in data.b_tokens.items():
                    response = client.get(f"/portal/file/{token}")
                    checks += 1
                    check(response.status_code == 404, failures, f"{what} B's {key}: {response.status_code}")
                    body_free_of(response, b_markers, what)
                for token in ("x", "0" * 43, data.b_tokens[("invoice", "pdf")][:-1]):
                    checks += 1
                    check(client.get(f"/portal/file/{token}").status_code == 404, failures, f"{what} {token}")
    # the pages name A's own documents only
    documents = client.get("/portal/documents/").get_data(as_text=True)
    for token in data.a_tokens.values():
        check(token in documents, failures, f"A's token {token} not listed")
    for token in data.b_tokens.values():
        check(token not in documents, failures, f"B's token {token} listed to A")
    client.post("/logout/")

    # ---- member B: A's files are not B's ------------------------------------------------------------
    login(client, "member2", MEMBER_PASSWORD)
    for key, token in data.a_tokens.items():
        checks += 1
        check(client.get(f"/portal/file/{token}").status_code == 404, failures, f"member B got A's {key}")
    for key, token in data.b_tokens.items():
        response = client.get(f"/portal/file/{token}")
        checks += 1
        check(response.status_code == 200 and response.data == stored(db, token), failures, f"member B's own {key}")
    page = client.get("/portal/").get_data(as_text=True)
    checks += 1
    check(B_NAME in page and LONG_NAME not in page, failures, "member B's portal")
    client.post("/logout/")

    # ---- nobody logged in ---------------------------------------------------------------------------
    for endpoint, rule, methods in all_routes:
        if classify(endpoint) == "public":
            continue
        for method in methods:
            response = client.open(build_url(app, endpoint, rule, b_invoice), method=method)
            checks += 1
            # sent to the login page; FAB's API 401; a form post without its fields 400; /back and
            # /lang/ (no data) redirect elsewhere
            refused = response.status_code in (302, 400, 401, 403, 404)
            if endpoint.startswith("PortalView.") or classify(endpoint) == "back-office" \
                    and endpoint.split(".")[0] not in ("UtilView", "LocaleView") and method == "GET":
                refused = response.status_code in (401, 404) or (  # 404: routes that serve nothing
                    response.status_code == 302 and "/login/" in response.headers["Location"])
            check(refused, failures, f"anonymous {method} {rule.rule}: {response.status_code}")
            body_free_of(response, b_markers + a_markers, f"anonymous {method} {rule.rule}")

    # ---- staff: without a link the portal refuses; linked to A, A's portal only ----------------------
    login(client, "staff", STAFF_PASSWORD)
    for url in ("/portal/", "/portal/documents/", "/portal/cards/",
                f"/portal/file/{data.a_tokens[('invoice', 'pdf')]}"):
        checks += 1
        check(client.get(url).status_code == 403, failures, f"unlinked staff {url}")
    from app.extensions import appbuilder
    from app.models import MemberAccount

    db.session.add(MemberAccount(user_id=appbuilder.sm.find_user(username="staff").id, member_id=data.a))
    db.session.commit()
    page = client.get("/portal/documents/").get_data(as_text=True)
    checks += 2
    check(LONG_NAME in page and data.a_tokens[("invoice", "pdf")] in page, failures, "linked staff sees A")
    body_free_of(client.get("/portal/documents/"), b_markers, "linked staff")
    check(client.get(f"/portal/file/{data.b_tokens[('invoice', 'pdf')]}").status_code == 404, failures,
          "linked staff got B's file")
    check(client.get("/memberview/list/").status_code == 200, failures, "staff keeps the back office")

    print(f"\nisolation matrix: {len(all_routes)} routes, {checks} checks")
    assert not failures, f"{len(failures)} of {checks} checks failed:\n" + "\n".join(failures[:60])
    assert checks > 400


def test_a_member_login_gets_403_on_the_rest_api_and_the_audit_export(client, db, portal):
    login(client, "member1", MEMBER_PASSWORD)
    for url in ("/api/v1/menu/", "/auditlogview/export/", "/memberview/export/", "/documents/export/",
                f"/documents/download/{db.session.scalar(select(IssuedDocument.id).limit(1))}",
                f"/invoices/show/{portal.a_invoice}", f"/invoices/show/{portal.b_invoice}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert B_NAME not in response.get_data(as_text=True) and LONG_NAME not in response.get_data(as_text=True)
