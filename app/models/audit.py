from sqlalchemy import Column, DateTime, Integer, JSON, String

from flask_appbuilder import Model

from .mixins import now_jst


class AuditLog(Model):
    """操作履歴: one row per created, changed or deleted record (who, when, before → after)."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    occurred_at = Column(DateTime, nullable=False, default=now_jst, index=True)
    user_id = Column(Integer, index=True)
    username = Column(String(128), nullable=False)
    action = Column(String(10), nullable=False)  # create / update / delete
    table_name = Column(String(64), nullable=False, index=True)
    record_id = Column(String(64), nullable=False)
    record_label = Column(String(200))
    before = Column(JSON)
    after = Column(JSON)

    def changes(self) -> str:
        """'状態: 有効 → 紛失・盗難; …' for the list screen and the Excel export. A new record lists
        its filled values, a deleted one what it held."""
        before, after = self.before or {}, self.after or {}
        keys = [k for k in dict.fromkeys([*before.keys(), *after.keys()]) if k != "id"]
        parts = []
        for key in keys:
            old = readable_value(self.table_name, key, before.get(key))
            new = readable_value(self.table_name, key, after.get(key))
            label = FIELD_LABELS.get(key, key)
            if self.action not in ("update", "delete"):  # create, close, and the login events (app/services/security_audit.py)
                if new:
                    parts.append(f"{label}: {new}")
            elif self.action == "delete":
                if old:
                    parts.append(f"{label}: {old}")
            else:
                parts.append(f"{label}: {old or '（なし）'} → {new or '（なし）'}")
        return "; ".join(parts)[:1000]

    def before_text(self) -> str:
        return self.values_text("before")

    def after_text(self) -> str:
        return self.values_text("after")

    def values_text(self, which: str) -> str:
        """The before or after values, one 'label: value' a line, for the detail screen."""
        values = (self.before if which == "before" else self.after) or {}
        return "\n".join(f"{FIELD_LABELS.get(k, k)}: {readable_value(self.table_name, k, v)}"
                         for k, v in values.items() if k != "id" and v not in (None, ""))


def readable_value(table: str, key: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    names = _value_names().get((table, key)) or _value_names().get((None, key))
    if names is not None and value in names:
        return names[value]
    if isinstance(value, dict):  # a scheduled job's parameters: each under the name its screen gives it
        labels = _parameter_labels() if table == "scheduled_job" else {}
        return "、".join(f"{labels.get(k, FIELD_LABELS.get(k, k))}: {readable_value(table, k, v) or '（なし）'}"
                        for k, v in value.items())
    text = str(value)
    if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():  # ISO date / datetime
        return text[:16].replace("-", "/").replace("T", " ")
    return text


def _parameter_labels() -> dict:
    from app.jobs.scheduled import jobs  # the jobs name their own parameters (app/jobs/scheduled/*.py)

    return {key: label for spec in jobs().values() for key, label in spec.param_labels.items()}


def _value_names() -> dict:
    from app.domain.bank_account import ACCOUNT_TYPES
    from app.domain.card_lifecycle import CARD_STATUSES, EVENT_KINDS
    from app.domain.card_number import CARD_KINDS
    from app.domain.vehicle_class import VEHICLE_CLASSES

    from .billing import INVOICE_KINDS, INVOICE_STATUSES, RUN_STATUSES
    from .job import RUN_STATUSES as RUN_STATUSES_OF_JOBS, TRIGGERS
    from .member import MEMBER_STATUSES, PAYMENT_METHODS
    from .operator import OPERATOR_TYPES
    from .payment import BATCH_STATUSES, PAYMENT_METHODS as RECEIPT_METHODS, PROFILE_KINDS, WRITE_OFF_STATUSES

    return {
        ("member", "status"): MEMBER_STATUSES, ("member", "payment_method"): PAYMENT_METHODS,
        ("card", "status"): CARD_STATUSES, ("card", "kind"): CARD_KINDS, ("card_event", "kind"): EVENT_KINDS,
        ("operator_settings", "operator_type"): OPERATOR_TYPES,
        ("billing_run", "status"): RUN_STATUSES, ("invoice", "status"): INVOICE_STATUSES,
        ("invoice", "kind"): INVOICE_KINDS, ("debit_batch", "status"): BATCH_STATUSES,
        ("collection_profile", "kind"): PROFILE_KINDS, ("payment", "method"): RECEIPT_METHODS,
        ("write_off", "status"): WRITE_OFF_STATUSES,
        ("job_run", "status"): RUN_STATUSES_OF_JOBS, ("job_run", "trigger"): TRIGGERS,
        (None, "account_type"): ACCOUNT_TYPES, (None, "vehicle_class"): VEHICLE_CLASSES,
    }


# Column names as people read them in the audit log.
FIELD_LABELS = {
    "detail": "内容", "ip": "接続元",
    "code": "コード", "name": "名称", "kana": "カナ", "postal_code": "郵便番号", "address": "住所", "phone": "電話番号",
    "email": "メールアドレス", "contact_person": "担当者", "agency_id": "代理店", "payment_method": "支払方法",
    "status": "状態", "withdrawn_on": "脱退日", "invoice_by_post": "請求書の郵送", "collection_profile_id": "収納代行・委託者", "bank_code": "銀行コード", "bank_name": "銀行名",
    "branch_code": "支店コード", "branch_name": "支店名", "account_type": "預金種目", "account_number": "口座番号",
    "account_holder_kana": "口座名義カナ", "member_id": "組合員", "plate_region": "地名",
    "plate_class_number": "分類番号", "plate_kana": "ひらがな", "plate_serial": "一連番号", "vehicle_class": "車種",
    "is_etc2": "ETC2.0", "is_commercial": "事業用", "note": "備考", "number": "カード番号", "kind": "種別",
    "issuer": "発行元", "vehicle_id": "車両", "valid_from": "有効開始日", "valid_until": "有効期限",
    "status_changed_on": "状態変更日", "replaces_card_id": "旧カード", "card_id": "カード", "occurred_on": "異動日",
    "new_card_id": "新カード", "new_card_number": "新カード番号", "old_vehicle_id": "入替前の車両",
    "new_vehicle_id": "入替後の車両", "entered_by": "登録者", "entered_at": "登録日時", "fee_billed": "手数料請求済",
    "billed_month": "請求月", "operator_type": "運営者の種類", "registration_number": "登録番号",
    "debit_requester_code": "委託者コード", "debit_requester_name_kana": "委託者名カナ", "debit_day": "振替日",
    "user_id": "ユーザー", "member_group": "組合員グループ", "debit_month_offset": "振替月（利用月の何か月後）",
    "invoice_day": "請求日（翌月）", "rule_id": "規則ID", "type": "種類", "label": "表示名", "valid_to": "有効終了日",
    "params": "設定値", "scope": "対象", "rounding": "端数処理", "position": "順序", "month": "請求月",
    "closed_at": "締め日時", "closed_by": "締めた人", "invoice_date": "請求日", "debit_date": "振替日",
    "total": "請求金額", "amount": "金額", "description": "内容", "original_invoice_id": "訂正元の請求書",
    "billed_invoice_id": "請求した請求書", "cancelled_by_invoice_id": "訂正後の請求書",
    "invoices_issued": "発行した請求書", "first_number": "最初の請求書番号", "last_number": "最後の請求書番号",
    "credits_issued": "うち貸方", "card_events_billed": "請求したカード異動", "adjustments_billed": "請求した訂正",
    "credits_carried": "繰り越した貸方", "month": "請求月",
    "corrects_invoice_id": "訂正元の請求書", "correction_reason": "訂正理由", "created_by": "登録者",
    "username": "ログインID", "first_name": "名", "last_name": "姓", "active": "有効", "roles": "ロール",
    "file_name": "ファイル名", "usage_month": "利用月", "row_count": "件数", "imported_by": "取込者",
    "imported_at": "取込日時", "replaces_batch_id": "置き換えた取込",
    "requester_code": "委託者コード", "requester_name_kana": "委託者名カナ", "separator": "レコード区切り",
    "customer_number": "顧客番号の形式", "charset": "使用文字", "use_new_code": "新規コードを使う",
    "use_edi": "EDI情報を使う", "collection_profile_id": "収納代行・委託者",
    "default_collection_profile_id": "既定の収納代行・委託者", "profile_id": "収納代行・委託者",
    "record_count": "件数", "total_amount": "合計金額", "content": "ファイル", "sha256": "SHA-256",
    "excluded": "対象外", "sent_at": "送信日時", "sent_by": "送信した人",
    "replaced_by_batch_id": "差し替え先の口座振替データ", "replaced_at": "差し替え日時", "replaced_by": "差し替えた人",
    "replacement_reason": "差し替えの理由",
    "invoice_id": "請求書", "received_on": "入金日", "method": "入金方法", "result_import_id": "振替結果の取込",
    "transfer_receipt_id": "振込入金", "payer_kana": "振込依頼人名", "source": "取込元", "file_sha256": "ファイルのSHA-256",
    "batch_id": "口座振替データ", "paid_count": "振替済件数", "paid_amount": "振替済金額", "failed_count": "振替不能件数",
    "failed_amount": "振替不能金額", "unknown_count": "不明な結果コード", "reason": "理由", "requested_by": "依頼した人",
    "requested_at": "依頼日時", "is_individual": "個人", "basis": "計算方法", "rate": "率", "transfers_reconciled_at": "振込の消込完了日時", "transfers_reconciled_by": "振込の消込を完了した人", "decided_by": "承認・却下した人", "decided_at": "承認・却下日時",
    "cron": "実行日時", "enabled": "有効", "period": "対象期間", "trigger": "きっかけ", "attempt": "何回目",
    "error": "エラー", "seconds": "所要秒数", "months": "月", "rows": "件数",
}
