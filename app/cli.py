"""`flask etc …`: the command-line entry points. Each calls one service and prints a summary."""
import functools
import sys

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.services.actor import acting_as
from app.services.files import write_atomically


def exits_on_domain_error(command):
    """A broken rule ends the command with its Japanese message on stderr and exit status 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from app.domain.errors import DomainError

        try:
            return command(*args, **kwargs)
        except DomainError as error:
            click.echo(error.message, err=True)
            sys.exit(1)
    return wrapper


def _exit_refused(refused) -> None:
    """A refused file: its message and every error on stderr, exit status 1 (nothing was changed)."""
    click.echo(refused.message, err=True)
    for error in refused.errors:
        click.echo(f"  {error}", err=True)
    sys.exit(1)


@click.group(help="Tollbook の運用コマンド")
def etc():
    pass


@etc.command("init", help="データベースを最新にし、ロールと管理者ユーザーを作成します。")
@click.option("--admin-password", default=None, help="管理者(admin)のパスワード。省略時は生成して表示します。")
@with_appcontext
def init_command(admin_password):
    from app.domain.password_policy import password_problems
    from app.services.setup import initialize

    if admin_password and (problems := password_problems(admin_password, "admin", member=False)):
        click.echo("管理者のパスワードに使えません: " + " ".join(problems), err=True)
        sys.exit(1)
    with acting_as("flask etc init"):
        username, password, ics_loaded = initialize(admin_password)
    click.echo("データベースを最新の状態にしました。ロール: 管理者, 事務, 責任者, 組合員")
    if ics_loaded:
        click.echo(f"IC マスタが空だったため、同梱の初期データ（app/data/ic_master.csv）から {ics_loaded}件を登録しました。")
    note = Path(current_app.instance_path) / "initial-admin-password.txt"
    if password:
        if not admin_password:  # generated: keep it where only this machine's user can read it
            note.write_text(f"{username} {password}\n", encoding="utf-8")
            note.chmod(0o600)
        click.echo(f"管理者ユーザー: {username}  パスワード: {password}")
    elif note.exists():
        click.echo(f"管理者ユーザー {username} は作成済みです。初期パスワードは {note} にあります。")
    else:
        click.echo(f"管理者ユーザー {username} は作成済みです（パスワードは変更していません）。")


@etc.command("backup", help="データベース（保存した帳票を含む）を1つのファイルにバックアップします。")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path):
    from app.domain.errors import DomainError
    from app.services.backup import backup

    try:
        click.echo(str(backup(path)))
    except DomainError as error:
        click.echo(error.message, err=True)
        sys.exit(1)


@etc.command("restore", help="flask etc backup で作ったファイルを空のデータベースに復元し、件数・金額・帳票のハッシュを確かめます。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(path):
    from app.domain.errors import DomainError
    from app.services.backup import restore

    try:
        click.echo(restore(path))
    except DomainError as error:
        click.echo(error.message, err=True)
        sys.exit(1)


@etc.command("unlock", help="ログインに続けて失敗してロックされたユーザーのロックを解除します。")
@click.argument("username")
@with_appcontext
def unlock_command(username):
    from app.extensions import appbuilder
    from app.services.accounts import unlock

    user = appbuilder.sm.find_user(username=username)
    if user is None:
        click.echo(f"ユーザー {username} はいません。", err=True)
        sys.exit(1)
    with acting_as("flask etc unlock"):
        was_locked = unlock(user)
        if was_locked:
            from app.services.security_audit import record

            record("unlock", user.username, user.id, "flask etc unlock でロックを解除しました", actor="current")
    click.echo(f"{username} のロックを解除しました。" if was_locked else f"{username} はロックされていません（失敗回数を0に戻しました）。")


@etc.command("portal-login",
             help="組合員の会員ページのログインを作成します（作成済みなら最初のログインのパスワードを再発行します）。"
                  "ログインIDと、生成したときは初期パスワードを表示します。")
@click.argument("member_code")
@click.option("--password", default=None,
              help="本人が決めたパスワード（会員ページのパスワードの規則に従うもの）。初回ログインでの変更は求めません。"
                   "省略時は初期パスワードを生成し、初回ログインで変更を求めます。")
@with_appcontext
@exits_on_domain_error
def portal_login_command(member_code, password):
    from app.services.portal_logins import issue_login

    with acting_as("flask etc portal-login"):
        issued = issue_login(member_code, password)
    what = "ログインを作成しました" if issued.created else "パスワードを再発行しました"
    click.echo(f"{issued.member_code} {issued.member_name}: 会員ページの{what}。")
    click.echo(f"ログインID: {issued.login_id}")
    if issued.password:
        click.echo(f"初期パスワード: {issued.password}（初回ログインで変更が必要です）")
    else:
        click.echo("パスワード: 指定されたもの（変更は求めません）")


@etc.command("send-notices",
             help="会員ページのお知らせメール（帳票を掲載した旨。金額・添付なし）のうち、送信待ちで帳票がそろったものを"
                  "今すぐ送ります（再送の待ち時間も待ちません）。")
@click.argument("month", required=False)
@with_appcontext
@exits_on_domain_error
def send_notices_command(month):
    from app.domain.month import Month
    from app.services.notices import send_notices

    if not current_app.config.get("MAIL_SERVER"):
        click.echo("MAIL_SERVER が設定されていないため送信できません（docs/portal.md）。", err=True)
        sys.exit(1)
    with acting_as("flask etc send-notices"):
        summary = send_notices(str(Month.parse(month)) if month else None, ignore_wait=True)
    click.echo(str(summary))
    for line in summary.failed:
        click.echo(f"送信失敗: {line}", err=True)
    if summary.failed or summary.retrying:
        sys.exit(1)


@etc.command("demo", help="デモデータ（組合員・代理店・車両・カード・異動）を入れます。本番のデータベースでは断ります。")
@with_appcontext
@exits_on_domain_error
def demo_command():
    from app.services.demo import load_demo_data

    with acting_as("flask etc demo"):
        summary = load_demo_data()
    click.echo(summary)


@etc.command("import-master", help="マスタ取込用Excel（組合員・車両・カード）を取り込みます。全件成功時のみ登録します。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_master_command(path):
    from app.services.master_import import MasterImportFailed, import_master_file

    with acting_as("flask etc import-master"):
        try:
            result = import_master_file(path)
        except MasterImportFailed as failure:
            click.echo(f"{path}: 取り込めませんでした（{failure.total:,}件のエラー）。何も登録していません。", err=True)
            for error in failure.errors:
                click.echo(f"  {error}", err=True)
            if failure.truncated:
                click.echo(f"  …（最初の{len(failure.errors):,}件を表示しました）", err=True)
            sys.exit(1)
    click.echo(f"{path}: {result}")


@etc.command("master-template", help="マスタ取込用Excelのひな形を書き出します。")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def master_template_command(output):
    from app.importers.master_excel import template_bytes

    with open(output, "wb") as handle:
        handle.write(template_bytes())
    click.echo(f"ひな形を書き出しました: {output}")


@etc.command("import", help="走行明細ファイルを1件取り込みます（全件成功時のみ登録、同じファイルは二重に取り込みません）。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "profile_name", default=None, help="取込形式名（etc-meisai, nexco-fixed, tollbook-csv など）。省略時は見出し行から判定します。")
@click.option("--month", default=None, help="利用月（2026-10、2026/10、202610 など）。省略時は明細の日付から決めます。")
@click.option("--replace", is_flag=True, help="同じ形式・同じ月の取込を、このファイルで差し替えます（旧取込は記録に残ります）。")
@with_appcontext
def import_command(path, profile_name, month, replace):
    from app.domain.errors import DomainError
    from app.domain.month import Month
    from app.services.usage_import import ImportRefused, detect_profile, import_usage_file

    with acting_as("flask etc import"):
        try:
            month = Month.parse(month, "利用月") if month else None
            profile_name = profile_name or detect_profile(path)
            summary = import_usage_file(path, profile_name, usage_month=month, replace=replace,
                                        progress=_progress_printer())
        except ImportRefused as refused:
            click.echo(refused.message, err=True)
            for error in refused.errors:
                click.echo(f"  {error}", err=True)
            sys.exit(1)
        except DomainError as error:
            click.echo(f"{path}: {error.message}", err=True)
            sys.exit(1)
    click.echo(str(summary))


def _progress_printer():
    """Progress on stderr when a person is watching (a terminal), silent in scripts and CI."""
    if not sys.stderr.isatty():
        return None

    def show(done, total, rows):
        percent = done * 100 // total if total else 100
        click.echo(f"\r取込中… {percent:3d}% {rows:,}件", err=True, nl=done >= total)
    return show


@etc.command("import-inbox", help="受信フォルダ（instance/inbox/<取込形式名>/）のファイルをすべて取り込みます。")
@with_appcontext
def import_inbox_command():
    from app.services.inbox import import_inbox

    with acting_as("flask etc import-inbox"):
        results = import_inbox(report=click.echo)  # each line as it happens (click.echo flushes)
    if not results:
        click.echo("受信フォルダに新しいファイルはありません。")
    if any(line.startswith("NG") for line in results):
        sys.exit(1)


@etc.command("import-ics", help="IC マスタ（CSV: ICコード,IC名,路線,道路事業者,地域区分）を取り込みます。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_ics_command(path):
    from app.domain.errors import DomainError
    from app.services.ic_master import import_ic_master
    from app.services.road_operators import resolve_road_operators

    with acting_as("flask etc import-ics"):
        try:
            click.echo(import_ic_master(path))
        except DomainError as error:
            click.echo(error.message, err=True)
            sys.exit(1)
        # the master changed: rows of open months without an operator (or taken from the master) follow it
        resolved = resolve_road_operators()
    click.echo(f"締め前の月の走行明細 {resolved:,}件の道路事業者を、ICマスタから決めました。")


@etc.group("export", help="一覧をExcelに書き出します。")
def export_group():
    pass


@export_group.command("usage", help="指定月の走行明細をExcelに書き出します。")
@click.argument("month")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_usage_command(month, output):
    from app.domain.month import Month
    from app.services.usage_export import export_usage

    month = Month.parse(month, "利用月")
    count = export_usage(month, output)
    click.echo(f"{month} の走行明細 {count:,}件を書き出しました: {output}")


@export_group.command("invoice-list", help="指定月の請求一覧（組合員ごとの利用額・割引・手数料・消費税・請求金額）をExcelに書き出します。")
@click.argument("month")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_invoice_list_command(month, output):
    from app.domain.month import Month
    from app.services.invoice_list import export_invoice_list

    month = Month.parse(month, "請求月")
    count = export_invoice_list(month, output)
    click.echo(f"{month} の請求一覧 {count:,}件を書き出しました: {output}")


@etc.command("forms", help="NEXCO宛ての申請書（申請内容シート）を1つのPDFに書き出します: 期間内のカード異動"
                            "（--from/--to）、または有効期限が近いコーポレートカードの更新申込（--renewal-months）。")
@click.option("--from", "first", default=None, help="異動日の始め（YYYY-MM-DD）")
@click.option("--to", "last", default=None, help="異動日の終わり（YYYY-MM-DD、この日を含む）")
@click.option("--renewal-months", default=None,
              help="有効期限がNか月先の月末（1〜24）までのコーポレートカードの交換申込を書き出します（更新予定カードの画面と同じカード）")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="書き出すPDFファイル")
@with_appcontext
@exits_on_domain_error
def forms_command(first, last, renewal_months, output):
    from app.domain.card_renewal import parse_months, renewal_deadline
    from app.domain.clock import today_jst
    from app.domain.errors import DomainError
    from app.services.nexco_forms import due_card_ids, period_forms, renewal_forms

    if renewal_months is not None:
        if first or last:
            raise DomainError("--renewal-months と --from/--to は同時に指定できません。")
        months = parse_months(renewal_months)
        ids = due_card_ids(months)
        batch, what = renewal_forms(ids), f"有効期限が{renewal_deadline(today_jst(), months):%Y-%m-%d}までの更新予定カード"
        total = len(ids)
    else:
        if not first or not last:
            raise DomainError("--from と --to に異動日の期間を YYYY-MM-DD で指定してください"
                              "（更新予定カードの申込は --renewal-months）。")
        start, end = _option_date(first, "--from"), _option_date(last, "--to")
        batch, total = period_forms(start, end)
        what = f"{start:%Y-%m-%d}〜{end:%Y-%m-%d} のカード異動"
    for line in batch.skipped:
        click.echo(f"  対象外: {line}", err=True)
    if not batch.forms:
        raise DomainError(f"{what}に、申請書の対象はありません（{total:,}件、うち対象外 {len(batch.skipped):,}件）。"
                          "PDFは作成していません。")
    data = batch.pdf()
    write_atomically(output, data)
    click.echo(f"申請書 {batch.count:,}件（{batch.count:,}ページ）を書き出しました: {output}"
               f"（{what} {total:,}件、うち対象外 {len(batch.skipped):,}件）")


def _option_date(text: str, option: str):
    """A date option as offices write dates (app/domain/japanese_date.py); the message names the option."""
    from app.domain.errors import DomainError
    from app.domain.japanese_date import parse_date_input

    try:
        return parse_date_input(text)
    except DomainError as error:
        raise DomainError(f"{option}: {error.message}") from None


@etc.command("bill", help="指定月（YYYY-MM）の請求の下書きを作成・再計算し、集計と確認事項を表示します。")
@click.argument("month")
@with_appcontext
@exits_on_domain_error
def bill_command(month):
    from app.domain.month import Month
    from app.services.billing.draft import run_billing

    month = Month.parse(month, "請求月")
    with acting_as("flask etc bill"):
        summary = run_billing(month)
    click.echo(str(summary))
    if not summary.warnings:
        click.echo("確認事項はありません。締めることができます（flask etc close %s）。" % summary.month)
    for warning in summary.warnings:
        click.echo(f"  {warning}")
    if any(w.blocking for w in summary.warnings):
        click.echo("【締め不可】の項目を解決してから、もう一度請求処理をして締めてください。")


@etc.command("close", help="指定月（YYYY-MM）の請求を締めます（請求書番号・請求日・振替日を付けて発行）。")
@click.argument("month")
@with_appcontext
@exits_on_domain_error
def close_command(month):
    import getpass

    from app.domain.month import Month
    from app.services.billing.close import close_billing_run

    month = Month.parse(month, "請求月")
    with acting_as("flask etc close"):
        run = close_billing_run(month, f"flask etc close（{getpass.getuser()}）")
    credits = run.credit_count()
    click.echo(f"{run.month} を締めました: 請求書 {run.invoice_count:,}件, 請求金額 {run.total:,}円"
               + (f"（うち貸方 {credits:,}件: 振替せず次の請求書へ繰り越します）" if credits else "")
               + f"（{run.closed_at:%Y/%m/%d %H:%M}）")


@etc.command("import-operator-discounts",
             help="道路事業者が報告した割引額のCSV（利用月,道路事業者,カード番号,割引額）を取り込みます。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_operator_discounts_command(path):
    from app.services.operator_discounts import OperatorDiscountImportRefused, import_operator_discounts

    with acting_as("flask etc import-operator-discounts"):
        try:
            click.echo(import_operator_discounts(path))
        except OperatorDiscountImportRefused as refused:
            _exit_refused(refused)


@etc.group("tariff", help="料金表（手数料・割引の規則）をYAMLで書き出し・取り込みます。")
def tariff_group():
    pass


@tariff_group.command("export", help="料金表をYAMLファイルに書き出します。")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def tariff_export_command(path):
    from app.services.tariff import export_tariff

    click.echo(export_tariff(path))


@tariff_group.command("import", help="YAMLファイルの料金表を取り込みます（全規則を確認してから一度に置き換えます）。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def tariff_import_command(path):
    from app.services.tariff import TariffImportRefused, import_tariff

    with acting_as("flask etc tariff import"):
        try:
            click.echo(import_tariff(path))
        except TariffImportRefused as refused:
            _exit_refused(refused)


# ---- 発行済み帳票 (docs/documents.md) ---------------------------------------------------------------

def _render(month, processes, actor):
    """The render batch with progress on stderr when a person watches (a terminal); its summary."""
    from app.services.documents.rendering import render_documents

    progress = None
    if sys.stderr.isatty():
        def progress(rendered, failed):
            click.echo(f"\r帳票を作成中… 作成 {rendered:,}件" + (f"・失敗 {failed:,}件" if failed else ""), err=True, nl=False)
    with acting_as(actor):
        summary = render_documents(month, processes=processes or current_app.config.get("DOCUMENT_RENDER_PROCESSES", 2),
                                   progress=progress)
    if progress is not None:
        click.echo("", err=True)
    return summary


def _exit_on_failures(failures: list[str]) -> None:
    """The documents not rendered, named with their reasons, and exit status 1; nothing if none."""
    if not failures:
        return
    click.echo(f"作成できなかった帳票が {len(failures):,}件あります（理由は請求処理の画面にも表示します。"
               "原因を直してから、もう一度実行すると未作成の分だけ作成します）:", err=True)
    for failure in failures[:50]:
        click.echo(f"  {failure}", err=True)
    if len(failures) > 50:
        click.echo(f"  …ほか {len(failures) - 50:,}件", err=True)
    sys.exit(1)


_PROCESSES = click.option("--processes", default=None, type=click.IntRange(1, 16),
                          help="帳票を作成するプロセス数（既定: DOCUMENT_RENDER_PROCESSES、2）。")


@etc.command("render-documents",
             help="締めた月の帳票（請求書・カード明細書・走行明細書・お知らせ; PDF と Excel）のうち未作成・作成失敗の分を"
                  "作成して保存します。月（YYYY-MM）を省略するとすべての月が対象です。")
@click.argument("month", required=False)
@_PROCESSES
@with_appcontext
@exits_on_domain_error
def render_documents_command(month, processes):
    from app.domain.month import Month

    summary = _render(str(Month.parse(month, "請求月")) if month else None, processes, "flask etc render-documents")
    click.echo(str(summary))
    _exit_on_failures([str(failure) for failure in summary.failed])


@etc.command("documents",
             help="指定月（YYYY-MM）の発行済み帳票をすべて DIR に書き出します（<組合員コード>_<種類>_<YYYY-MM>.pdf / .xlsx）。"
                  "未作成の帳票は先に作成します。")
@click.argument("month")
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False),
              help="書き出し先のフォルダ（なければ作成します）。")
@_PROCESSES
@with_appcontext
@exits_on_domain_error
def documents_command(month, directory, processes):
    from app.domain.month import Month
    from app.services.documents.export import require_closed, write_month_files
    from app.services.documents.progress import failed_documents

    month = require_closed(Month.parse(month, "請求月"))
    summary = _render(month, processes, "flask etc documents")
    if summary.rendered:
        click.echo(str(summary))
    click.echo(str(write_month_files(month, directory)))
    # what is still missing, whichever process tried it (another may have rendered part of the month)
    _exit_on_failures([f"{f.member_code} {month} {f.kind}.{f.format}: {f.error}"
                       for f in failed_documents(month, limit=None, pending=True)])


@etc.command("verify-documents",
             help="保存したすべての帳票の SHA-256 とハッシュチェーンを計算し直し、発行後に内容が変わった帳票を示します"
                  "（変わった帳票があれば終了コード 1）。")
@with_appcontext
def verify_documents_command():
    from app.services.documents.chain import verify_documents

    result = verify_documents()
    if result.ok:
        click.echo(f"帳票 {result.checked:,}件の SHA-256 とハッシュチェーンを確認しました。発行後に変わった帳票はありません。")
        click.echo(f"最新のチェーンハッシュ: {result.last_chain_hash}（控えておくと、以後のチェーン全体の書き換えも検出できます）")
        return
    click.echo(f"帳票 {result.checked:,}件を確認しました。発行後に内容または記録が変わった帳票が "
               f"{len({p.document_id for p in result.problems}):,}件あります:", err=True)
    for problem in result.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


# ---- 入金: 収納代行・委託者, 口座振替データ, 銀行マスタ (docs/payments.md) ---------------------------------

@etc.group("collection-profiles", help="収納代行・委託者（口座振替の委託者と全銀ファイルの形式）をYAMLで書き出し・取り込みます。")
def collection_profiles_group():
    pass


@collection_profiles_group.command("export", help="収納代行・委託者をYAMLファイルに書き出します。")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def collection_profiles_export_command(path):
    from app.services.collection_profiles import export_profiles

    click.echo(export_profiles(path))


@collection_profiles_group.command("import", help="YAMLファイルの収納代行・委託者を取り込みます（全件を確認してから一度に更新します）。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def collection_profiles_import_command(path):
    from app.services.collection_profiles import ProfileImportRefused, import_profiles

    with acting_as("flask etc collection-profiles import"):
        try:
            click.echo(import_profiles(path))
        except ProfileImportRefused as refused:
            _exit_refused(refused)


@export_group.command("debit", help="締めた月の口座振替データ（全銀 種別91）を収納代行・委託者ごとに書き出します。"
                                    "同じ内容なら作成済みのデータと同じバイト列、請求書が変わっていれば新しい回として保存します。")
@click.argument("month")
@click.option("--profile", "profile_code", default=None, help="収納代行・委託者のコード（1件しかないときは省略可）")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_debit_command(month, profile_code, output):
    from app.domain.month import Month
    from app.services.debit_files import generate_debit_file

    month = Month.parse(month, "請求月")
    with acting_as("flask etc export debit"):
        result = generate_debit_file(month, profile_code)
        data = bytes(result.batch.content)
        click.echo(str(result))
        if result.warning:  # another file of the month went to the collector: this one only as a 差し替え
            click.echo("注意: " + result.warning.replace("\n", "\n注意: "))
    write_atomically(output, data)
    click.echo(f"書き出しました: {output}（{len(data):,}バイト）")
    if result.excluded:
        click.echo(f"対象外 {len(result.excluded):,}件:")
        for excluded in result.excluded:
            click.echo(f"  {excluded}")


@export_group.command("debit-list", help="締めた月の自動振替一覧表（収納代行・委託者ごとに1シート）をExcelに書き出します。")
@click.argument("month")
@click.option("--profile", "profile_code", default=None, help="収納代行・委託者のコード（省略時はすべて）")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_debit_list_command(month, profile_code, output):
    from app.domain.month import Month
    from app.services.payment_lists import export_debit_list

    month = Month.parse(month, "請求月")
    count = export_debit_list(str(month), output, profile_code)
    click.echo(f"{month} の自動振替一覧表 {count:,}件を書き出しました: {output}")


@export_group.command("transfer-list", help="締めた月の振込一覧表（振込で支払う組合員の請求金額と支払期日）をExcelに書き出します。")
@click.argument("month")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_transfer_list_command(month, output):
    from app.domain.month import Month
    from app.services.payment_lists import export_transfer_list

    month = Month.parse(month, "請求月")
    count = export_transfer_list(str(month), output)
    click.echo(f"{month} の振込一覧表 {count:,}件を書き出しました: {output}")


@etc.command("debit-result", help="銀行・収納代行から届いた振替結果ファイル（全銀 種別91）を取り込み、振替済を入金として記録します。"
                                  "壊れたファイル・別の委託者のファイル・合わないレコードは何も記録せずに断ります。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
@exits_on_domain_error
def debit_result_command(path):
    from app.domain.zengin.reader import ResultFileRefused
    from app.services.debit_results import import_debit_result

    with acting_as("flask etc debit-result"):
        try:
            summary = import_debit_result(path)
        except ResultFileRefused as refused:
            _exit_refused(refused)
    click.echo(str(summary))
    for warning in summary.warnings:
        click.echo(f"  注意: {warning}")
    for failed in summary.failed:
        click.echo(f"  振替不能: {failed}")


@etc.command("import-transfers", help="振込入金のCSV（日付,振込依頼人名,金額）を取り込みます。消込は振込入金の画面で行います。")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
@exits_on_domain_error
def import_transfers_command(path):
    from app.services.transfers import TransferImportRefused, import_transfer_csv

    with acting_as("flask etc import-transfers"):
        try:
            click.echo(import_transfer_csv(path))
        except TransferImportRefused as refused:
            _exit_refused(refused)


@export_group.command("unpaid-list", help="締めた月の未収一覧（未入金・一部入金の請求書と経過日数、経過別の集計）をExcelに書き出します。")
@click.argument("month")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_unpaid_list_command(month, output):
    from app.domain.month import Month
    from app.services.receivables import export_unpaid_list

    month = Month.parse(month, "請求月")
    count = export_unpaid_list(str(month), output)
    click.echo(f"{month} の未収一覧 {count:,}件を書き出しました: {output}")


@export_group.command("agency-commissions", help="締めた月の代理店手数料一覧（規則ごとの計算、源泉徴収、振込額）をExcelに書き出します。")
@click.argument("month")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_agency_commissions_command(month, output):
    from app.domain.month import Month
    from app.services.agency_commissions import export_commission_list

    month = Month.parse(month, "請求月")
    count = export_commission_list(str(month), output)
    click.echo(f"{month} の代理店手数料一覧 {count:,}件を書き出しました: {output}")


@export_group.command("agency-transfer", help="締めた月の代理店手数料を支払う総合振込データ（全銀 種別21）を書き出します。")
@click.argument("month")
@click.option("--date", "transfer_date", required=True, help="振込指定日（YYYY-MM-DD など）")
@click.option("--profile", "profile_code", default=None, help="振込依頼人（収納代行・委託者のコード）。省略時は運営者設定の既定")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@with_appcontext
@exits_on_domain_error
def export_agency_transfer_command(month, transfer_date, profile_code, output):
    from app.domain.month import Month
    from app.services.agency_commissions import agency_transfer_file

    month = Month.parse(month, "請求月")
    data, count, total = agency_transfer_file(str(month), _option_date(transfer_date, "--date"), profile_code)
    write_atomically(output, data)
    click.echo(f"{month} の代理店手数料の総合振込データ {count:,}件 {total:,}円を書き出しました: {output}（{len(data):,}バイト）")


@etc.command("update-banks", help="銀行・支店マスタ（zengin-code パッケージ）の版を記録し、口座に写した銀行名・支店名を"
                                  "最新にして、支店がなくなった口座（統廃合など）を一覧にします。")
@with_appcontext
def update_banks_command():
    from app.services.bank_master import update_banks

    with acting_as("flask etc update-banks"):
        report = update_banks()
    click.echo(report.summary())
    for line in report.missing:
        click.echo(f"  {line}", err=True)
    if report.missing:
        sys.exit(1)


# ---- 定期処理 (docs/operations.md) ----------------------------------------------------------------------

@etc.command("jobs", help="定期処理の一覧（実行日時・有効・設定値・次回の予定）と、それぞれの最後の実行を表示します。")
@with_appcontext
def jobs_command():
    from app.domain.clock import now_jst
    from app.domain.errors import DomainError
    from app.domain.job_schedule import next_fire
    from app.jobs.scheduled import jobs
    from app.models.job import RUN_STATUSES
    from app.services import job_runs
    from app.services.scheduled_jobs import all_settings, ensure_scheduled_jobs

    with acting_as("flask etc jobs"):
        ensure_scheduled_jobs()
    last = job_runs.last_runs()
    now = now_jst()
    for settings in all_settings():
        spec = jobs()[settings.name]
        try:
            upcoming = next_fire(settings.cron, now) if settings.enabled else None
            when = f"次回 {upcoming:%Y/%m/%d %H:%M}" if upcoming else "停止中"
        except DomainError:
            when = "実行日時を読めません"
        params = " ".join(f"{k}={v}" for k, v in settings.params.items())
        click.echo(f"{settings.name:<14} {spec.label}  [{settings.cron}] {'有効' if settings.enabled else '無効'}  {when}"
                   + (f"  設定値: {params}" if params else ""))
        run = last.get(settings.name)
        if run is None:
            click.echo("    最後の実行: なし")
            continue
        state = "中断（サーバー停止）" if job_runs.is_stale(run, now) else RUN_STATUSES.get(run.status, run.status)
        ended = f"〜{run.ended_at:%H:%M:%S}" if run.ended_at else ""
        click.echo(f"    最後の実行: {run.period} {state} {run.started_at:%Y/%m/%d %H:%M:%S}{ended}"
                   f"（{run.started_by}）" + (f" {run.error}" if run.error else ""))


@etc.command("run-job", help="定期処理を今すぐ1回実行します（予定と同じ記録を使うので、同じ対象期間は二重に実行しません。"
                             "失敗した期間は再実行します）。")
@click.argument("name")
@click.option("--period", default=None,
              help="対象期間（請求の下書き・口座振替データは請求月 2026-10、バックアップは日付 2026-11-30 など）。"
                   "省略時は今の期間です。")
@with_appcontext
@exits_on_domain_error
def run_job_command(name, period):
    from app.jobs.runner import FAILED, SKIPPED, run_job

    outcome = run_job(current_app, name, period, trigger="manual", actor=("flask etc run-job", None))
    click.echo(str(outcome), err=outcome.status == FAILED)
    if outcome.status == FAILED:
        sys.exit(1)
    if outcome.status == SKIPPED:
        sys.exit(3)
