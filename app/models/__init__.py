"""Tables, one module per aggregate. Importing this package registers them all with the metadata."""
from flask_appbuilder import Model  # noqa: F401

from .account import AccountSecurity  # noqa: F401
from .agency import Agency, AgencyCommissionRule, AgencyMonthCommission  # noqa: F401
from .audit import AuditLog  # noqa: F401
from .billing import (BillingDiscount, BillingRun, Invoice, InvoiceAdjustment, InvoiceLine,  # noqa: F401
                      InvoiceNumberCounter, InvoiceTaxSubtotal, KeptRuleVersions, MonthLock,
                      OperatorDiscountReport)
from .card import Card, CardEvent  # noqa: F401
from .document import IssuedDocument  # noqa: F401
from .http_session import HttpSession  # noqa: F401
from .member import Member, MemberAccount  # noqa: F401
from .notice import PortalNotice  # noqa: F401
from .operator import OperatorSettings  # noqa: F401
from .rate_limit import RateLimitCounter  # noqa: F401
from .payment import (CollectionProfile, DebitBatch, DebitBatchItem, DebitResultImport, Payment,  # noqa: F401
                      TransferReceipt, WriteOff)
from .system import SystemSetting  # noqa: F401
from .tariff import TariffRule  # noqa: F401
from .usage import IcMaster, ImportBatch, ImportProfile, UsageRecord  # noqa: F401
from .vehicle import Vehicle  # noqa: F401
from .job import JobRun, ScheduledJob  # noqa: F401
