"""The four roles of Tollbook, as data.

FAB reads this mapping (config FAB_ROLES) and checks it in memory on every request: each entry is
[view-name regex, permission regex], matched with re.match, so patterns end in `$`.
Admin (管理者) is FAB's AUTH_ROLE_ADMIN and holds every permission in the database.

View names are class names (CardView), menu names are the stable `name` given to add_view
(Cards), both listed in app/views/menu.py. Japanese labels are separate, so renaming a label never
changes what a role may do.
"""

ROLE_ADMIN = "管理者"
ROLE_STAFF = "事務"
ROLE_MANAGER = "責任者"
ROLE_MEMBER = "組合員"

# Back-office views (class names) that staff work in.
MASTER_VIEWS = (
    "OperatorSettingsView|MemberView|AgencyView|VehicleView|CardView|CardEventView"
    "|MasterImportView|CardRenewalView"
)
# 会員ページのログイン (app/views/portal_logins.py): staff issue, reset and stop; managers read.
PORTAL_LOGIN_STAFF = [["PortalLoginView$", "can_(list|issue)$"], ["PortalLogins$", "menu_access$"]]
PORTAL_LOGIN_MANAGER = [["PortalLoginView$", "can_list$"], ["PortalLogins$", "menu_access$"]]
# Menu items of the back office (names given to appbuilder.add_view / add_link).
MASTER_MENUS = (
    "MasterData|Operator|Members|Agencies|Vehicles|Cards|CardEvents|CardRenewals|ImportExport|MasterImport"
)
# 走行明細 (app/views/usage*.py): staff import, fix unregistered cards, edit profiles; managers read.
USAGE_VIEWS = (
    "ImportBatchView|UsageUploadView|UsageRecordView|UsageAlertView|UnregisteredCardView|ImportProfileView"
    "|IcMasterView|OffMonthUsageView|DuplicateUsageView|UnknownOperatorView"
)
USAGE_READ_MENUS = ("Usage|ImportBatches|UsageRecords|UnregisteredCards|UsageAlerts|ImportProfiles|IcMaster"
                    "|OffMonthUsage|DuplicateUsage|UnknownOperators")
USAGE_MENUS = f"{USAGE_READ_MENUS}|UsageUpload"
MASTER_READ_MENUS = MASTER_MENUS.replace("|MasterImport", "")  # managers read; they do not import
# 請求 (app/views/billing*.py): staff run drafts and register corrections and read the tariff; the
# manager changes the tariff (add, edit, 改定, YAML upload: issue 9 item 16), reads everything else and
# closes the month (can_close on BillingView: nobody else but the admin).
BILLING_MENUS = "Billing|BillingRuns|Invoices|InvoiceList|Tariff|IssuedDocuments"
BILLING_STAFF = [
    ["BillingView$", "can_(list|show|run)$"],
    ["InvoiceView$", "can_(list|show|export|adjust|reissue)$"],
    ["InvoiceListView$", "can_(list|download)$"],
    # 発行済み帳票 (app/views/documents.py): search, downloads, start rendering what is missing
    ["IssuedDocumentView$", "can_(list|download|render)$"],
    ["TariffRuleView$", "can_(list|show|export|download)$"],
    [f"({BILLING_MENUS})$", "menu_access$"],
]
BILLING_MANAGER = [
    ["BillingView$", "can_(list|show|close)$"],
    ["InvoiceView$", "can_(list|show|export)$"],
    ["InvoiceListView$", "can_(list|download)$"],
    ["IssuedDocumentView$", "can_(list|download|render)$"],
    ["TariffRuleView$", "can_(list|show|add|edit|delete|export|download|upload|revise)$"],
    [f"({BILLING_MENUS})$", "menu_access$"],
]
# 入金 (app/views/payments.py): staff keep the collection profiles and produce the debit files; the
# manager reads them and downloads files.
PAYMENT_MENUS = ("Payments|DebitBatches|DebitResults|Transfers|Unpaid|DebitList|TransferList|CollectionProfiles"
                 "|AgencyCommissions|AgencyCommissionRules")
PAYMENT_STAFF = [
    ["CollectionProfileView$", "can_(list|show|add|edit|delete|export|download|upload)$"],
    ["DebitBatchView$", "can_(list|show|export|generate|download|send)$"],
    ["PaymentListView$", "can_(list|download)$"],
    ["DebitResultView$", "can_(list|upload)$"],
    ["TransferReceiptView$", "can_(list|add|upload|match)$"],
    ["UnpaidView$", "can_(list|download|request)$"],
    ["AgencyCommissionView$", "can_(list|download)$"],
    ["AgencyCommissionRuleView$", "can_(list|show|add|edit|delete|export)$"],
    [f"({PAYMENT_MENUS})$", "menu_access$"],
]
PAYMENT_MANAGER = [
    ["CollectionProfileView$", "can_(list|show|export|download)$"],
    # 差し替え (another file of a month already sent goes in its place) is the 責任者's decision, like a write-off
    ["DebitBatchView$", "can_(list|show|export|download|replace)$"],
    ["PaymentListView$", "can_(list|download)$"],
    ["DebitResultView$", "can_list$"],
    ["TransferReceiptView$", "can_list$"],
    # 未収の償却 is decided by the 責任者 (staff ask for it, with a reason)
    ["UnpaidView$", "can_(list|download|approve)$"],
    ["AgencyCommissionView$", "can_(list|download)$"],
    ["AgencyCommissionRuleView$", "can_(list|show|export)$"],
    [f"({PAYMENT_MENUS})$", "menu_access$"],
]
REPORT_VIEWS = "AuditLogView"
REPORT_MENUS = "Reports|AuditLog"
# 定期処理 (app/views/scheduled_jobs.py): staff read the schedule, run a job now and retry a failed run;
# the manager also changes the schedule. Members never.
JOBS_MENUS = "Reports|ScheduledJobs|JobRuns"
JOBS_STAFF = [
    ["ScheduledJobView$", "can_(list|run)$"],
    ["JobRunView$", "can_(list|retry)$"],
    [f"({JOBS_MENUS})$", "menu_access$"],
]
JOBS_MANAGER = [
    ["ScheduledJobView$", "can_(list|edit|run)$"],
    ["JobRunView$", "can_(list|retry)$"],
    [f"({JOBS_MENUS})$", "menu_access$"],
]

# Everybody who logs in may read and edit their own login details and change their password.
_OWN_ACCOUNT = [
    ["UserDBModelView$", "can_userinfo$|userinfoedit$"],
    ["UserInfoEditView$", "can_this_form_(get|post)$"],
    ["ResetMyPasswordView$", "can_this_form_(get|post)$"],
]

# Staff whose login is linked to a member (member_account) may switch to that member's portal and see
# only what the member sees there; unlinked staff get 403 on it. The menu entry shows only when linked.
_STAFF_PORTAL = [
    ["PortalView$", "can_(index|download)$"],
    ["Portal$", "menu_access$"],
]

ROLES = {
    ROLE_STAFF: [
        # print_forms / can_forms: NEXCO 申請書 from card events and the renewal list (app/views/nexco_forms.py)
        [f"({MASTER_VIEWS})$",
         "(can_(list|show|add|edit|delete|export|download|upload|template|register|forms)|print_forms)$"],
        [f"({MASTER_MENUS})$", "menu_access$"],
        # copy: FAB names an action's permission after the action itself (取込形式のコピー)
        [f"({USAGE_VIEWS})$", "(can_(list|show|add|edit|delete|export|upload|assign|confirm)|copy)$"],
        [f"({USAGE_MENUS})$", "menu_access$"],
        *BILLING_STAFF,
        *PAYMENT_STAFF,
        *JOBS_STAFF,
        *PORTAL_LOGIN_STAFF,
        *_STAFF_PORTAL,
        *_OWN_ACCOUNT,
    ],
    ROLE_MANAGER: [
        [f"({MASTER_VIEWS})$", "can_(list|show|export)$"],
        [f"({REPORT_VIEWS})$", "can_(list|show|export)$"],
        [f"({MASTER_READ_MENUS}|{REPORT_MENUS})$", "menu_access$"],
        [f"({USAGE_VIEWS})$", "can_(list|show|export)$"],
        [f"({USAGE_READ_MENUS})$", "menu_access$"],
        *BILLING_MANAGER,
        *PAYMENT_MANAGER,
        *JOBS_MANAGER,
        *PORTAL_LOGIN_MANAGER,
        *_STAFF_PORTAL,
        *_OWN_ACCOUNT,
    ],
    # Members see the portal only (app/views/portal.py); nothing of the back office.
    ROLE_MEMBER: [
        ["PortalView$", "can_(index|download|password)$"],
        ["Portal$", "menu_access$"],
        *_OWN_ACCOUNT,
    ],
}
