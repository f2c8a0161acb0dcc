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
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
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


CHUNK = 8 << 20  # bytes per read/write while copying and hashing
BLOCK = 512  # tar's block size


def _pad(out, size: int) -> None:
    if size % BLOCK:
        out.write(b"\0" * (BLOCK - size % BLOCK))


def _member_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    assert len(header) == BLOCK  # short name; GNU base-256 sizes keep one block beyond 8 GiB
    return header


def _copy_hashing(source, out, size: int | None = None) -> tuple[str, int]:
    """Copy `source` (a binary stream) into `out`, hashing on the way; (sha256, bytes). One pass."""
    digest, copied = hashlib.sha256(), 0
    while size is None or copied < size:
        block = source.read(CHUNK if size is None else min(CHUNK, size - copied))
        if not block:
            break
        digest.update(block)
        out.write(block)
        copied += len(block)
    return digest.hexdigest(), copied


def _collect_stderr(process):
    """Read the tool's messages in a thread (a full stderr pipe would stall it while we stream its data);
    returns a function giving them once it has ended."""
    collected: list[bytes] = []
    reader = threading.Thread(target=lambda: collected.append(process.stderr.read()), daemon=True)
    reader.start()

    def text_of() -> str:
        reader.join(30)
        return b"".join(collected).decode(errors="replace")
    return text_of


def _write_database(engine, out, work: Path) -> tuple[str, str, int]:
    """The database's own consistent copy streamed into `out`: (member name, sha256, size)."""
    if engine.dialect.name == "sqlite":
        copy = work / SQLITE_FILE
        source, target = sqlite3.connect(engine.url.database), sqlite3.connect(copy)
        try:
            source.backup(target)  # the online backup API: consistent while others write
        finally:
            target.close()
            source.close()
        with open(copy, "rb") as data:
            return (SQLITE_FILE, *_copy_hashing(data, out))
    # PostgreSQL: pg_dump writes to a pipe and the bytes go straight into the archive (no second copy)
    dump = subprocess.Popen(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                             "--dbname", _libpq_url(engine.url)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors = _collect_stderr(dump)
    digest, size = _copy_hashing(dump.stdout, out)
    if dump.wait() != 0:
        raise DomainError(f"pg_dump が失敗しました（何も作成していません）: {errors().strip()[:400]}")
    return PG_FILE, digest, size


def backup(path: str | Path) -> BackupSummary:
    """Write the backup file at `path` (written to a temporary name first, then renamed).

    The archive is written in one pass: a block is kept free for the database member's tar header, the
    database's copy is streamed in while it is hashed, then the header (its size now known) is written into
    that block and the manifest appended. A valid tar, read back by `tarfile` and `tar` alike."""
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
        partial = work / "backup.tar"
        with open(partial, "wb") as out:
            out.write(b"\0" * BLOCK)
            name, digest, size = _write_database(engine, out, work)
            _pad(out, size)
            manifest = {"format": FORMAT, "database": engine.dialect.name, "revision": revision,
                        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(), "file": name,
                        "sha256": digest, **facts}
            body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            out.write(_member_header(MANIFEST, len(body)))
            out.write(body)
            _pad(out, len(body))
            out.write(b"\0" * (2 * BLOCK))  # end of archive
            out.seek(0)
            out.write(_member_header(name, size))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    return BackupSummary(str(path), path.stat().st_size, facts["invoices"], facts["documents"],
                         time.monotonic() - started)


class _Discard:
    def write(self, block):
        pass


def _restore_sqlite(archive, size: int, sha256: str, target: Path, corrupt: DomainError) -> None:
    """The backup's database file becomes the (empty) target: copied next to it while hashed, then renamed
    over it, so a damaged file or a failure half-way leaves the target as it was."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".restoring")
    try:
        with os.fdopen(handle, "wb") as out:
            digest, copied = _copy_hashing(archive, out, size)
            if (digest, copied) != (sha256, size):
                raise corrupt
            out.flush()
            os.fsync(out.fileno())
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
            leftover.unlink(missing_ok=True)  # the empty target's journal must not be applied to the new file
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
    with tarfile.open(path, "r") as archive:
        try:
            member = archive.getmember(manifest["file"])
        except KeyError:
            raise DomainError(f"{path} にデータベースが入っていません。何も変更していません。") from None
        offset, size = member.offset_data, member.size
    corrupt = DomainError("バックアップの中身が壊れています（SHA-256 が記録と一致しません）。何も変更していません。")
    engine.dispose()
    with open(path, "rb") as archive:
        archive.seek(offset)
        if engine.dialect.name == "sqlite":
            _restore_sqlite(archive, size, manifest["sha256"], Path(engine.url.database), corrupt)
        else:
            # checked first (a read of the file, no write), then streamed into pg_restore: nothing is changed
            # by a damaged file
            digest, copied = _copy_hashing(archive, _Discard(), size)
            if (digest, copied) != (manifest["sha256"], size):
                raise corrupt
            archive.seek(offset)
            restoring = subprocess.Popen(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                          "--single-transaction", "--dbname", _libpq_url(engine.url)],
                                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            errors = _collect_stderr(restoring)
            try:
                _copy_hashing(archive, restoring.stdin, size)
                restoring.stdin.close()
            except BrokenPipeError:
                pass  # pg_restore stopped on an error: its message follows
            if restoring.wait() != 0:
                message = errors().strip()[:400]
                raise DomainError(f"pg_restore が失敗しました（変更は取り消しました）: {message}")
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
