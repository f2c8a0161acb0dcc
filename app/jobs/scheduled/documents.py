"""帳票の作成: `flask etc render-documents` (app/services/documents/rendering.py) for every closed month's
documents not yet made. A run whose documents could not all be made is failed (the reasons are in its log);
a retry renders only what is still missing."""
from flask import current_app

from app.domain.errors import DomainError

from . import JobSpec


def run(context):
    from app.services.documents.rendering import render_documents

    processes = int(current_app.config.get("DOCUMENT_RENDER_PROCESSES", 2))
    summary = render_documents(None, processes=processes,
                               progress=lambda rendered, failed: context.progress(rendered + failed))
    context.log(str(summary))
    for failure in summary.failed[:50]:
        context.log(f"作成できませんでした: {failure}")
    context.count(作成=summary.rendered, 失敗=len(summary.failed))
    if summary.failed:
        raise DomainError(f"作成できなかった帳票が {len(summary.failed):,}件あります（理由は記録と請求処理の画面にあります）。"
                          "原因を直してから再実行すると、未作成の分だけ作成します。")


JOB = JobSpec(name="documents", label="帳票の作成",
              description="締めた月の帳票（請求書・明細書など）のうち、未作成・作成失敗のものを作成します。",
              cron="0 22 * * *", period_kind="day", run=run)
