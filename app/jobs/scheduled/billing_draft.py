"""請求の下書き: `flask etc bill MONTH` (app/services/billing/draft.py) for the month before the run.

The close is not done here: the billing services have no approval step by the manager (the close itself
is the manager's act on the billing screen, permission can_close), so the job drafts only and says so in
its log. Should an approval be added, the close after it belongs here."""
from app.domain.month import Month

from . import JobSpec


def run(context):
    from app.services.billing.draft import run_billing

    summary = run_billing(Month.parse(context.period, "請求月"))
    context.log(str(summary))
    for warning in summary.warnings:
        context.log(f"確認事項: {warning}")
    context.count(請求書=summary.invoice_count, 請求金額=summary.total, 確認事項=len(summary.warnings),
                  締め不可=sum(1 for w in summary.warnings if w.blocking))
    context.log("締めは自動では行いません。責任者が請求処理の画面で内容を確認して締めてください"
                "（責任者の承認の仕組みがないため）。")


JOB = JobSpec(name="billing-draft", label="請求の下書き",
              description="前月分の請求の下書きを作成（作成済みなら再計算）します。締めは責任者が画面で行います。",
              cron="0 7 5 * *", period_kind="previous-month", run=run)
