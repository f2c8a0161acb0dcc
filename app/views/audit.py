from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup

from app.labels import actor_label
from app.models import AuditLog

from app.services.security_audit import ACTIONS as LOGIN_ACTIONS

from .base import TollbookModelView
from .formatting import date_jp

ACTIONS = {"create": "登録", "update": "変更", "delete": "削除", "close": "締め", "job_start": "定期処理の開始",
           "job_end": "定期処理の終了", "purge": "保存期間切れの削除", **LOGIN_ACTIONS}
TABLES = {"member": "組合員", "agency": "代理店", "vehicle": "車両", "card": "カード", "card_event": "カード異動",
          "operator_settings": "運営者設定", "member_account": "ポータルアカウント",
          "import_profile": "取込形式", "ic_master": "ICマスタ", "ab_user": "ログイン", "ab_role": "ロール",
          "import_batch": "走行明細の取込", "tariff_rule": "料金表", "billing_run": "請求処理", "invoice": "請求書",
          "invoice_adjustment": "訂正", "job_run": "定期処理の実行", "scheduled_job": "定期処理",
          "usage_record": "走行明細"}


class AuditLogView(TollbookModelView):
    """操作履歴: read only, for managers (責任者) and admins."""

    datamodel = SQLAInterface(AuditLog)
    base_permissions = ["can_list", "can_show", "can_export"]
    list_title = export_title = "操作履歴"
    show_title = "操作履歴の詳細"
    label_columns = {"occurred_at": "日時", "username": "ユーザー", "action": "操作", "table_name": "対象",
                     "record_id": "ID", "record_label": "対象データ", "before": "変更前", "after": "変更後",
                     "changes": "変更内容", "before_text": "変更前", "after_text": "変更後"}
    list_columns = ["occurred_at", "username", "action", "table_name", "record_label", "changes"]
    show_columns = ["occurred_at", "username", "action", "table_name", "record_id", "record_label",
                    "before_text", "after_text"]
    search_columns = ["occurred_at", "username", "action", "table_name", "record_id", "record_label"]
    formatters_columns = {
        "occurred_at": date_jp,
        "action": lambda v: Markup('<span style="white-space:nowrap">{}</span>').format(ACTIONS.get(v, v)),
        "table_name": lambda v: Markup('<span style="white-space:nowrap">{}</span>').format(TABLES.get(v, v)),
        "before_text": lambda v: Markup('<pre style="white-space:pre-wrap">{}</pre>').format(v) if v else "",
        "after_text": lambda v: Markup('<pre style="white-space:pre-wrap">{}</pre>').format(v) if v else "",
        "username": lambda v: Markup('<span style="white-space:nowrap">{}</span>').format(actor_label(v)),
    }
    base_order = ("occurred_at", "desc")

    def _export_value(self, item, column):
        if column == "action":
            return ACTIONS.get(item.action, item.action)
        if column == "table_name":
            return TABLES.get(item.table_name, item.table_name)
        return super()._export_value(item, column)
