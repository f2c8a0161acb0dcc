"""The back-office menu. `name` is the stable permission name (see app/security/roles.py);
`label` is what users read."""
from app.labels import with_member
from app.security.two_factor_views import limit_attempts

from .audit import AuditLogView
from .billing import BillingView, InvoiceListView, InvoiceView
from .billing_tariff import TariffRuleView
from .cards import CardEventView, CardView
from .documents import IssuedDocumentView
from .nexco_forms import CardRenewalView
from .master_import import MasterImportView
from .members import AgencyView, MemberView
from .operator import OperatorSettingsView
from .payments import (CollectionProfileView, DebitBatchView, DebitResultView, PaymentListView,
                       AgencyCommissionRuleView, AgencyCommissionView, TransferReceiptView, UnpaidView)
from .portal import PortalView, has_member_link
from .portal_logins import PortalLoginView
from .usage import (DuplicateUsageView, ImportBatchView, OffMonthUsageView, UnknownOperatorView, UnregisteredCardView,
                    UsageAlertView, UsageRecordView)
from .usage_masters import IcMasterView, ImportProfileView
from .usage_upload import UsageUploadView
from .scheduled_jobs import JobRunView, ScheduledJobView
from .vehicles import VehicleView

MASTER = "MasterData"
REPORTS = "Reports"
USAGE = "Usage"
BILLING = "Billing"
PAYMENTS = "Payments"


def register_views(appbuilder):
    master = dict(category=MASTER, category_label="マスタ管理", category_icon="fa-database")
    appbuilder.add_view(MemberView, "Members", label=with_member("{m}"), icon="fa-building", **master)
    appbuilder.add_view(AgencyView, "Agencies", label="代理店", icon="fa-handshake-o", **master)
    appbuilder.add_view(VehicleView, "Vehicles", label="車両", icon="fa-truck", **master)
    appbuilder.add_view(CardView, "Cards", label="ETCカード", icon="fa-credit-card", **master)
    appbuilder.add_view(CardEventView, "CardEvents", label="カード異動", icon="fa-exchange", **master)
    appbuilder.add_view(CardRenewalView, "CardRenewals", label="更新予定カード", icon="fa-refresh", **master)
    appbuilder.add_view(MasterImportView, "MasterImport", label="マスタ取込（Excel）", icon="fa-upload", category="MasterData", category_label="マスタ管理")
    appbuilder.add_view(PortalLoginView, "PortalLogins", label="会員ページのログイン", icon="fa-key", **master)
    appbuilder.add_view(OperatorSettingsView, "Operator", label="運営者設定", icon="fa-cog", **master)
    usage = dict(category=USAGE, category_label="走行明細", category_icon="fa-road")
    appbuilder.add_view(UsageUploadView, "UsageUpload", label="ファイル取込", icon="fa-upload", **usage)
    appbuilder.add_view(ImportBatchView, "ImportBatches", label="取込", icon="fa-inbox", **usage)
    appbuilder.add_view(UsageRecordView, "UsageRecords", label="明細一覧", icon="fa-list", **usage)
    appbuilder.add_view(UnregisteredCardView, "UnregisteredCards", label="未登録カード", icon="fa-question-circle",
                        **usage)
    appbuilder.add_view(UsageAlertView, "UsageAlerts", label="紛失後利用", icon="fa-exclamation-triangle", **usage)
    appbuilder.add_view(DuplicateUsageView, "DuplicateUsage", label="重複の疑い", icon="fa-clone", **usage)
    appbuilder.add_view(OffMonthUsageView, "OffMonthUsage", label="期ずれ", icon="fa-calendar-times-o", **usage)
    appbuilder.add_view(UnknownOperatorView, "UnknownOperators", label="道路事業者不明", icon="fa-question", **usage)
    appbuilder.add_view(ImportProfileView, "ImportProfiles", label="取込形式", icon="fa-sliders", **usage)
    appbuilder.add_view(IcMasterView, "IcMaster", label="ICマスタ", icon="fa-map-signs", **usage)
    billing = dict(category=BILLING, category_label="請求", category_icon="fa-jpy")
    appbuilder.add_view(BillingView, "BillingRuns", label="請求処理", icon="fa-calculator", **billing)
    appbuilder.add_view(InvoiceView, "Invoices", label="請求書", icon="fa-file-text-o", **billing)
    appbuilder.add_view(InvoiceListView, "InvoiceList", label="請求一覧", icon="fa-table", **billing)
    appbuilder.add_view(IssuedDocumentView, "IssuedDocuments", label="発行済み帳票の検索", icon="fa-archive", **billing)
    appbuilder.add_view(TariffRuleView, "Tariff", label="料金表", icon="fa-percent", **billing)
    payments = dict(category=PAYMENTS, category_label="入金", category_icon="fa-bank")
    appbuilder.add_view(DebitBatchView, "DebitBatches", label="口座振替データ（全銀）", icon="fa-file-text-o", **payments)
    appbuilder.add_view(DebitResultView, "DebitResults", label="振替結果の取込", icon="fa-upload", **payments)
    appbuilder.add_view(TransferReceiptView, "Transfers", label="振込入金・消込", icon="fa-exchange", **payments)
    appbuilder.add_view(UnpaidView, "Unpaid", label="未収一覧", icon="fa-exclamation-circle", **payments)
    appbuilder.add_view(PaymentListView, "DebitList", label="自動振替一覧表", icon="fa-list-alt", **payments)
    appbuilder.add_link("TransferList", label="振込一覧表", href="PaymentListView.transfer_list", icon="fa-list",
                        category=PAYMENTS)
    appbuilder.add_view(AgencyCommissionView, "AgencyCommissions", label="代理店手数料一覧", icon="fa-handshake-o",
                        **payments)
    appbuilder.add_view(AgencyCommissionRuleView, "AgencyCommissionRules", label="代理店手数料の規則", icon="fa-percent",
                        **payments)
    appbuilder.add_view(CollectionProfileView, "CollectionProfiles", label="収納代行・委託者", icon="fa-university",
                        **payments)
    appbuilder.add_view(AuditLogView, "AuditLog", label="操作履歴", icon="fa-history", category=REPORTS,
                        category_label="管理", category_icon="fa-line-chart")
    appbuilder.add_view(ScheduledJobView, "ScheduledJobs", label="定期処理", icon="fa-clock-o", category=REPORTS)
    appbuilder.add_view(JobRunView, "JobRuns", label="定期処理の実行の記録", icon="fa-list-alt", category=REPORTS)
    # Staff linked to a member switch to that member's portal from here; members never see this menu.
    portal = appbuilder.add_view(PortalView, "Portal", label="会員ページ", icon="fa-home", menu_cond=has_member_link)
    # The portal's one form (パスワード変更) is rate-limited per address like the login screen.
    limit_attempts(appbuilder, portal)


# A member's screen shows its vehicles, cards and card events; a card's screen its events.
MemberView.related_views = [VehicleView, CardView, CardEventView]
VehicleView.related_views = [CardView]
