"""`flask etc …`: the command-line entry points. Each calls one service and prints a summary."""
import sys

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.services.actor import acting_as


@click.group(help="Tollbook の運用コマンド")
def etc():
    pass


@etc.command("init", help="データベースを最新にし、ロールと管理者ユーザーを作成します。")
@click.option("--admin-password", default=None, help="管理者(admin)のパスワード。省略時は生成して表示します。")
@with_appcontext
def init_command(admin_password):
    from app.services.setup import initialize

    with acting_as("flask etc init"):
        username, password = initialize(admin_password)
    click.echo("データベースを最新の状態にしました。ロール: 管理者, 事務, 責任者, 組合員")
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


@etc.command("demo", help="デモデータ（組合員・代理店・車両・カード・異動）を入れます。")
@with_appcontext
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
            click.echo(f"{path}: 取り込めませんでした（{len(failure.errors)}件のエラー）。何も登録していません。", err=True)
            for error in failure.errors:
                click.echo(f"  {error}", err=True)
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
