"""受信フォルダの取込: `flask etc import-inbox` (app/services/inbox.py) on a schedule. A file refused (NG) is
moved to failed/ with its reasons, and the run is marked failed so the home checklist shows it; the other
files are imported all the same (each file is its own transaction)."""
from collections import Counter

from app.domain.errors import DomainError

from . import JobSpec


def run(context):
    from app.services.inbox import import_inbox

    lines = import_inbox(report=context.log)
    kinds = Counter(line.split(" ", 1)[0] for line in lines)  # each line starts with OK / NG / SKIP / WAIT
    context.count(取込=kinds["OK"], 取込不可=kinds["NG"], 対象外=kinds["SKIP"], 待ち=kinds["WAIT"])
    if not lines:
        context.log("受信フォルダに新しいファイルはありません。")
    if kinds["NG"]:
        raise DomainError(f"取り込めなかったファイルが {kinds['NG']}件あります（受信フォルダの failed/ に理由と一緒に"
                          "移しました）。直して受信フォルダに置き直してください。")


JOB = JobSpec(name="inbox-import", label="受信フォルダの取込",
              description="受信フォルダ（取込形式ごとのフォルダ）に届いた走行明細ファイルを取り込みます。",
              cron="0 6 * * *", period_kind="minute", run=run)
