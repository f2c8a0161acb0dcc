"""毎日のバックアップ: `flask etc backup PATH` (app/services/backup.py) into the configured folder as
tollbook-YYYY-MM-DD.tar, then the rotation: the last 30 days' copies and the first copy of each month of the
last 5 years are kept, older ones removed — only after the new copy is complete (a failed backup prunes
nothing). An unwritable folder fails the run with a Japanese message before anything is written."""
import datetime as dt

from . import JobSpec, int_param


def check(params: dict) -> list[str]:
    problems: list[str] = []
    int_param(params, "keep_daily_days", 1, 3660, "毎日のコピーを残す日数", problems)
    int_param(params, "keep_monthly_years", 0, 100, "月ごとのコピーを残す年数", problems)
    return problems


def run(context):
    from app.services.backup import backup_folder, daily_backup, prune_backups

    day = dt.date.fromisoformat(context.period)
    folder = backup_folder(context.params.get("folder"))
    summary = daily_backup(folder, day)
    context.log(str(summary))
    removed = prune_backups(folder, day, int(context.params.get("keep_daily_days", 30)),
                            int(context.params.get("keep_monthly_years", 5)))
    for path in removed:
        context.log(f"古いバックアップを削除しました: {path.name}")
    context.count(バイト=summary.size, 請求書=summary.invoices, 帳票=summary.documents, 削除=len(removed))


JOB = JobSpec(name="backup", label="バックアップ",
              description="データベース（保存した帳票を含む）を毎日バックアップし、30日分の毎日のコピーと5年分の月ごとのコピーを残します。",
              cron="30 2 * * *", period_kind="day", run=run,
              param_labels={"folder": "保存先フォルダ（空なら既定の保存先）", "keep_daily_days": "毎日のコピーを残す日数", "keep_monthly_years": "月ごとのコピーを残す年数"},
              enabled=True,
              params={"folder": "", "keep_daily_days": 30, "keep_monthly_years": 5}, check_params=check)
