"""口座振替データの作成: `flask etc export debit` (app/services/debit_files.py) for the month before the run,
once per 収納代行・委託者. The same content gives the same stored file (no new 回), so a retry adds nothing.
The month must be closed: a run before the close fails with the service's message and can be retried."""
from app.domain.month import Month

from . import JobSpec


def run(context):
    from app.services.collection_profiles import all_profiles
    from app.services.debit_files import generate_debit_file

    month = Month.parse(context.period, "請求月")
    profiles = all_profiles()
    context.progress(0, len(profiles))
    created = records = amount = 0
    for done, profile in enumerate(profiles, start=1):
        result = generate_debit_file(month, profile.code)
        context.log(str(result))
        created += int(result.created)
        records += result.batch.record_count
        amount += result.batch.total_amount
        context.progress(done)
    context.count(委託者=len(profiles), 新しいファイル=created, 件数=records, 金額=amount)


JOB = JobSpec(name="debit-files", label="口座振替データの作成",
              description="前月分（締め済み）の口座振替データ（全銀）を収納代行・委託者ごとに作成します。",
              cron="0 8 15 * *", period_kind="previous-month", run=run)
