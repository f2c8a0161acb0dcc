"""Backup and restore (issue 13 item 5): one file that holds the whole database — the stored documents'
bytes included (issued_document) — with a manifest saying what it is.

The file is a tar archive:
- `manifest.json`: format, database kind, the schema's Alembic revision, when, and the counts and totals
  a restore is checked against (invoices, their 請求金額 total, documents, the last link of the hash chain);
- `database.sqlite3` (SQLite: the online backup API, a consistent copy while the application runs) or
  `database.dump` (PostgreSQL: `pg_dump --format=custom`, one consistent snapshot).

`restore` refuses, with a Japanese message and nothing changed, a file that is not such a backup, one made
by another version of the schema, one of the other database kind, and a database that is not empty. After
restoring it checks the counts, totals and chain against the manifest.
"""
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, inspect, select, text

from app.domain.errors import DomainError
from app.extensions import db

FORMAT = "tollbook-backup-1"
MANIFEST, SQLITE_FILE, PG_FILE = "manifest.json", "database.sqlite3", "database.dump"


@dataclass(frozen=True)
class BackupSummary:
    path: str
    size: int
    invoices: int
    documents: int
    seconds: float

    def __str__(self):
        return (f"バックアップを作成しました: {self.path}（{self.size:,} バイト、請求書 {self.invoices:,}件、"
                f"帳票 {self.documents:,}件、{self.seconds:.1f}秒）")


def code_revision() -> str:
    """The schema revision this version of Tollbook expects (the Alembic head)."""
    directory = current_app.extensions["migrate"].directory
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", directory)
    return ScriptDirectory.from_config(config).get_current_head()


def _facts(connection) -> dict:
    """What a restore must give back: counts, the 請求金額 total and the chain's last hash."""
    from app.models.billing import Invoice
    from app.models.document import IssuedDocument

    invoices, total = connection.execute(select(func.count(), func.coalesce(func.sum(Invoice.total), 0))
                                         .select_from(Invoice)).one()
    documents = connection.execute(select(func.count()).select_from(IssuedDocument)
                                   .where(IssuedDocument.sha256.is_not(None))).scalar()
    last = connection.execute(select(IssuedDocument.chain_hash).where(IssuedDocument.chain_position.is_not(None))
                              .order_by(IssuedDocument.chain_position.desc()).limit(1)).scalar()
    return {"invoices": int(invoices), "invoice_total": int(total), "documents": int(documents),
            "chain_last": last or ""}


def _libpq_url(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(path: str | Path) -> BackupSummary:
    """Write the backup file at `path` (written to a temporary name first, then renamed)."""
    started = time.monotonic()
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise DomainError(f"バックアップの保存先 {folder} に書き込めません（フォルダがないか、権限がありません）。何も作成していません。")
    engine = db.engine
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        facts = _facts(connection)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        work = Path(work)
        if engine.dialect.name == "sqlite":
            data = work / SQLITE_FILE
            source = sqlite3.connect(engine.url.database)
            target = sqlite3.connect(data)
            try:
                source.backup(target)  # the online backup API: consistent while others write
            finally:
                target.close()
                source.close()
        else:
            data = work / PG_FILE
            done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(data),
                                   "--dbname", _libpq_url(engine.url)], capture_output=True, text=True)
            if done.returncode != 0:
                raise DomainError(f"pg_dump が失敗しました（何も作成していません）: {done.stderr.strip()[:400]}")
        manifest = {"format": FORMAT, "database": engine.dialect.name, "revision": revision,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(), "file": data.name,
                    "sha256": hashlib.sha256(data.read_bytes()).hexdigest(), **facts}
        partial = work / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
            archive.add(data, arcname=data.name)
        os.replace(partial, path)
    return BackupSummary(str(path), path.stat().st_size, facts["invoices"], facts["documents"],
                         time.monotonic() - started)


def read_manifest(path: str | Path) -> dict:
    try:
        with tarfile.open(path, "r") as archive:
            manifest = json.loads(archive.extractfile(MANIFEST).read())
    except (OSError, tarfile.TarError, KeyError, AttributeError, ValueError):
        raise DomainError(f"{path} は Tollbook のバックアップではありません（読めないか、形式が違います）。何も変更していません。") from None
    if manifest.get("format") != FORMAT:
        raise DomainError(f"{path} は Tollbook のバックアップではありません（形式 {manifest.get('format')}）。何も変更していません。")
    return manifest


def restore(path: str | Path) -> str:
    """Restore the backup into this (empty) database; check it against the manifest."""
    manifest = read_manifest(path)
    engine = db.engine
    expected = code_revision()
    if manifest["revision"] != expected:
        raise DomainError(f"このバックアップは別の版のデータベース（スキーマ {manifest['revision']}）で作られています。"
                          f"この Tollbook はスキーマ {expected} です。同じ版の Tollbook で復元してください。何も変更していません。")
    if manifest["database"] != engine.dialect.name:
        raise DomainError(f"このバックアップは {manifest['database']} のものです。{engine.dialect.name} には復元できません。何も変更していません。")
    tables = inspect(engine).get_table_names()
    if tables:
        raise DomainError(f"復元先のデータベースが空ではありません（テーブル {len(tables)}個）。空のデータベースを指定してください。"
                          "何も変更していません。")
    with tempfile.TemporaryDirectory() as work:
        with tarfile.open(path, "r") as archive:
            archive.extract(manifest["file"], work, filter="data")
        data = Path(work) / manifest["file"]
        if hashlib.sha256(data.read_bytes()).hexdigest() != manifest["sha256"]:
            raise DomainError("バックアップの中身が壊れています（SHA-256 が記録と一致しません）。何も変更していません。")
        engine.dispose()
        if engine.dialect.name == "sqlite":
            source = sqlite3.connect(data)
            target = sqlite3.connect(engine.url.database)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                                   "--dbname", _libpq_url(engine.url), str(data)], capture_output=True, text=True)
            if done.returncode != 0:
                raise DomainError(f"pg_restore が失敗しました（変更は取り消しました）: {done.stderr.strip()[:400]}")
    with engine.connect() as connection:
        facts = _facts(connection)
    wanted = {k: manifest[k] for k in facts}
    if facts != wanted:
        raise DomainError(f"復元したデータがバックアップの記録と一致しません: 復元 {facts}、記録 {wanted}")
    return (f"{path} を復元しました（請求書 {facts['invoices']:,}件・請求金額合計 {facts['invoice_total']:,}円、"
            f"帳票 {facts['documents']:,}件、ハッシュチェーン一致）。")


# ---- the daily backup and its rotation (定期処理 `backup`, app/jobs/scheduled/backup.py) -------------------

DAILY_PATTERN = "tollbook-{day:%Y-%m-%d}.tar"
_DAILY_NAME = __import__("re").compile(r"tollbook-(\d{4})-(\d{2})-(\d{2})\.tar")


def backup_folder(configured: str | None = None) -> Path:
    """The folder of the daily copies: the job's parameter, else BACKUP_DIR, else instance/backups."""
    return Path(configured or current_app.config.get("BACKUP_DIR") or Path(current_app.instance_path) / "backups")


def writable_folder(folder: Path) -> Path:
    """The folder, created if missing; a Japanese refusal (nothing written) if it cannot be written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DomainError(f"バックアップの保存先 {folder} を作成できません（{error.strerror}）。"
                          "保存先の設定か権限を確認してください。何も作成していません。") from None
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise DomainError(f"バックアップの保存先 {folder} に書き込めません（フォルダがないか、権限がありません）。"
                          "何も作成していません。")
    return folder


def daily_backups(folder: Path) -> dict[dt.date, Path]:
    found = {}
    for path in folder.iterdir():
        match = _DAILY_NAME.fullmatch(path.name)
        if match and path.is_file():
            try:
                found[dt.date(*map(int, match.groups()))] = path
            except ValueError:
                continue
    return found


def daily_backup(folder: Path, day: dt.date) -> BackupSummary:
    """The day's copy in the folder (replaced if the day already has one: a retry)."""
    return backup(writable_folder(folder) / DAILY_PATTERN.format(day=day))


def prune_backups(folder: Path, today: dt.date, daily_days: int, monthly_years: int) -> list[Path]:
    """Remove the daily copies the rotation does not keep (app/domain/backup_rotation.py); the removed paths."""
    from app.domain.backup_rotation import backups_to_prune

    copies = daily_backups(folder)
    removed = []
    for day in backups_to_prune(list(copies), today, daily_days, monthly_years):
        copies[day].unlink()
        removed.append(copies[day])
    return removed
