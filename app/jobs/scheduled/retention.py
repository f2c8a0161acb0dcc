"""保存期間を過ぎた走行明細の削除: app/services/retention.purge_usage with the cutoff of the run's day
(default: 5 fiscal years before the current one, fiscal years from April). Refused without a recent
successful backup; open months are kept."""
import datetime as dt

from app.domain.backup_rotation import retention_cutoff
from app.domain.clock import today_jst

from . import JobSpec, int_param


def check(params: dict) -> list[str]:
    problems: list[str] = []
    int_param(params, "years", 1, 50, "保存する年数（今年度のほか）", problems)
    int_param(params, "fiscal_year_start_month", 1, 12, "年度の始まりの月", problems)
    int_param(params, "backup_max_hours", 1, 24 * 31, "バックアップの新しさ（時間）", problems)
    return problems


def run(context):
    from app.services.retention import purge_usage

    cutoff = retention_cutoff(today_jst(), int(context.params.get("years", 5)),
                              int(context.params.get("fiscal_year_start_month", 4)))
    summary = purge_usage(cutoff, dt.timedelta(hours=int(context.params.get("backup_max_hours", 36))))
    context.log(str(summary))
    context.count(削除した明細=sum(summary.purged.values()), 削除した月=len(summary.purged), 残した未締めの月=len(summary.kept_open))


JOB = JobSpec(name="retention", label="保存期間を過ぎた明細の削除",
              description="保存期間（今年度と過去5年度）より前の締め済みの月の走行明細を、バックアップの後で削除します。",
              cron="0 4 1 * *", period_kind="month", run=run,
              param_labels={"years": "今年度のほかに残す年度の数", "fiscal_year_start_month": "年度の始まりの月", "backup_max_hours": "何時間以内のバックアップを必要とするか"},
              params={"years": 5, "fiscal_year_start_month": 4, "backup_max_hours": 36}, check_params=check)
