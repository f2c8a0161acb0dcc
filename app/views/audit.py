import json

from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup

from app.models import AuditLog

from .base import TollbookModelView
from .formatting import date_jp

ACTIONS = {"create": "登録", "update": "変更", "delete": "削除"}
TABLES = {"member": "組合員", "agency": "代理店", "vehicle": "車両", "card": "カード", "card_event": "カード異動",
          "operator_settings": "運営者設定", "member_account": "ポータルアカウント"}


class AuditLogView(TollbookModelView):
    """操作履歴: read only, for managers (責任者) and admins."""

    datamodel = SQLAInterface(AuditLog)
    base_permissions = ["can_list", "can_show", "can_export"]
    list_title = export_title = "操作履歴"
    show_title = "操作履歴の詳細"
    label_columns = {"occurred_at": "日時", "username": "ユーザー", "action": "操作", "table_name": "対象",
                     "record_id": "ID", "record_label": "対象データ", "before": "変更前", "after": "変更後",
                     "changes": "変更内容"}
    list_columns = ["occurred_at", "username", "action", "table_name", "record_label", "changes"]
    show_columns = ["occurred_at", "username", "action", "table_name", "record_id", "record_label", "before",
                    "after"]
    search_columns = ["occurred_at", "username", "action", "table_name", "record_id", "record_label"]
    formatters_columns = {
        "occurred_at": date_jp,
        "action": lambda v: ACTIONS.get(v, v),
        "table_name": lambda v: TABLES.get(v, v),
        "before": lambda v: Markup("<pre>{}</pre>").format(json.dumps(v, ensure_ascii=False, indent=1)) if v else "",
        "after": lambda v: Markup("<pre>{}</pre>").format(json.dumps(v, ensure_ascii=False, indent=1)) if v else "",
    }
    base_order = ("occurred_at", "desc")

    def _export_value(self, item, column):
        if column == "action":
            return ACTIONS.get(item.action, item.action)
        if column == "table_name":
            return TABLES.get(item.table_name, item.table_name)
        return super()._export_value(item, column)
