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
import ctypes
import ctypes.util
import datetime as dt
import functools
import hashlib
import json
import mmap
import os
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import xxhash
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
    """The schema revision this version of Tollbook expects (the Alembic head; also the health check's)."""
    return _head_of(current_app.extensions["migrate"].directory)


@functools.lru_cache(maxsize=4)
def _head_of(directory: str) -> str:
    """Read from the migration scripts once per process."""
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
# The copy's checksum: XXH3-128 (xxhash), which reads at memory speed; a SHA-256 pass over a 400 MB copy cost
# more than SQLite's own backup of it (docs/performance.md, "Backup and restore"). It detects a damaged file;
# the documents keep their SHA-256 and hash chain inside the database. Backups that name "sha256" (made before
# 2026-11-30) are still checked with it.
CHECKSUM = "xxh3_128"
_HASHERS = {"xxh3_128": xxhash.xxh3_128, "sha256": hashlib.sha256}
FALLOC_FL_INSERT_RANGE = 0x20  # linux/falloc.h


def _pad(out, size: int) -> None:
    if size % BLOCK:
        out.write(b"\0" * (BLOCK - size % BLOCK))


def _member_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    assert len(header) == BLOCK  # short name; GNU base-256 sizes keep one block beyond 8 GiB
    return header


def _hash_file(handle, offset: int, size: int, algorithm: str) -> tuple[str, int]:
    """(checksum, bytes hashed) of `size` bytes of the file from `offset`, read through a memory map: the page
    cache is hashed where it lies, not copied into Python first."""
    digest = _HASHERS[algorithm]()
    available = max(0, min(size, os.fstat(handle.fileno()).st_size - offset))
    if available:
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for start in range(offset, offset + available, 64 * CHUNK):
                    digest.update(view[start:min(start + 64 * CHUNK, offset + available)])
            finally:
                view.release()
    return digest.hexdigest(), available


def _copy_hashing(source, out, size: int | None = None, algorithm: str = CHECKSUM) -> tuple[str, int]:
    """Copy `source` (a binary stream) into `out`, hashing on the way; (checksum, bytes). One pass."""
    digest, copied = _HASHERS[algorithm](), 0
    while size is None or copied < size:
        block = source.read(CHUNK if size is None else min(CHUNK, size - copied))
        if not block:
            break
        digest.update(block)
        out.write(block)
        copied += len(block)
    return digest.hexdigest(), copied


def _copy_range_to_stream(source, out, size: int) -> None:
    """`size` bytes from the stream `source` into `out` (a pipe), unhashed: the caller checked them already."""
    copied = 0
    while copied < size:
        block = source.read(min(CHUNK, size - copied))
        if not block:
            break
        out.write(block)
        copied += len(block)


def _copy_range(source, offset: int, size: int, out, out_offset: int) -> int:
    """`size` bytes of the file `source` from `offset` into the file `out` at `out_offset`, copied in the kernel
    (copy_file_range) where the file system can, else by positioned reads and writes."""
    source_fd, out_fd, copied = source.fileno(), out.fileno(), 0
    try:
        while copied < size:
            step = os.copy_file_range(source_fd, out_fd, size - copied, offset + copied, out_offset + copied)
            if step == 0:
                break
            copied += step
    except OSError:  # EXDEV, ENOSYS, EINVAL…
        while copied < size:
            block = os.pread(source_fd, min(CHUNK, size - copied), offset + copied)
            if not block:
                break
            os.pwrite(out_fd, block, out_offset + copied)
            copied += len(block)
    return copied


def _insert_at_start(handle, length: int) -> bool:
    """Make room for `length` bytes at the start of the file without rewriting it (fallocate
    FALLOC_FL_INSERT_RANGE: ext4 and XFS move the extents). False where the file system cannot."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
    return libc.fallocate(handle.fileno(), FALLOC_FL_INSERT_RANGE, 0, length) == 0


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


def _manifest_bytes(manifest: dict, size: int | None = None) -> bytes:
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    if size is not None:
        body += b" " * (size - len(body))  # JSON allows trailing white space: the member fills its blocks
    return body


def _sqlite_archive(engine, partial: Path, manifest: dict) -> None:
    """SQLite: the online backup API writes the copy straight into the archive's file; then the manifest and
    the copy's tar header are put in front of it without moving it (fallocate), and the archive's end after.
    Where the file system cannot insert, the copy is copied once behind them."""
    source, target = sqlite3.connect(engine.url.database), sqlite3.connect(partial)
    try:
        target.execute("PRAGMA journal_mode=OFF")  # a copy being made: no journal, synced once at the end
        target.execute("PRAGMA synchronous=OFF")
        source.backup(target)  # consistent while others write
    finally:
        target.close()
        source.close()
    size = partial.stat().st_size  # whole pages: a multiple of 512
    with open(partial, "rb") as data:
        manifest.update(file=SQLITE_FILE, checksum=CHECKSUM, **{CHECKSUM: _hash_file(data, 0, size, CHECKSUM)[0]})
    body = _manifest_bytes(manifest)
    block = os.statvfs(partial).f_bsize
    front = -(-(len(body) + 2 * BLOCK) // block) * block  # manifest header + body + the copy's header, whole fs blocks
    prefix = (_member_header(MANIFEST, front - 2 * BLOCK) + _manifest_bytes(manifest, front - 2 * BLOCK)
              + _member_header(SQLITE_FILE, size))
    with open(partial, "r+b") as out:
        if _insert_at_start(out, front):
            os.pwrite(out.fileno(), prefix, 0)
            os.pwrite(out.fileno(), b"\0" * (2 * BLOCK), front + size)  # end of archive
            os.fsync(out.fileno())
            return
    moved = partial.with_suffix(".copy")
    os.replace(partial, moved)
    with open(moved, "rb") as data, open(partial, "wb") as out:
        out.write(prefix)
        out.flush()
        _copy_range(data, 0, size, out, len(prefix))
        out.seek(len(prefix) + size)
        out.write(b"\0" * (2 * BLOCK))
        out.flush()
        os.fsync(out.fileno())
    moved.unlink()


def _postgresql_archive(engine, partial: Path, manifest: dict) -> None:
    """PostgreSQL: pg_dump writes to a pipe and its bytes go straight into the archive, hashed on the way, after
    a block kept for their tar header (written once the size is known); the manifest follows."""
    with open(partial, "wb") as out:
        out.write(b"\0" * BLOCK)
        dump = subprocess.Popen(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                                 "--dbname", _libpq_url(engine.url)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        errors = _collect_stderr(dump)
        digest, size = _copy_hashing(dump.stdout, out)
        if dump.wait() != 0:
            raise DomainError(f"pg_dump が失敗しました（何も作成していません）: {errors().strip()[:400]}")
        _pad(out, size)
        manifest.update(file=PG_FILE, checksum=CHECKSUM, **{CHECKSUM: digest})
        body = _manifest_bytes(manifest)
        out.write(_member_header(MANIFEST, len(body)))
        out.write(body)
        _pad(out, len(body))
        out.write(b"\0" * (2 * BLOCK))  # end of archive
        out.seek(0)
        out.write(_member_header(PG_FILE, size))
        out.flush()
        os.fsync(out.fileno())


def backup(path: str | Path) -> BackupSummary:
    """Write the backup file at `path` (written to a temporary name in the same folder first, then renamed).
    A plain tar archive (read back by `tarfile` and `tar` alike), written without a second copy of the
    database: see _sqlite_archive and _postgresql_archive."""
    started = time.monotonic()
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise DomainError(f"バックアップの保存先 {folder} に書き込めません（フォルダがないか、権限がありません）。何も作成していません。")
    engine = db.engine
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        facts = _facts(connection)
    manifest = {"format": FORMAT, "database": engine.dialect.name, "revision": revision,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(), **facts}
    with tempfile.TemporaryDirectory(dir=folder) as work:
        partial = Path(work) / "backup.tar"
        if engine.dialect.name == "sqlite":
            _sqlite_archive(engine, partial, manifest)
        else:
            _postgresql_archive(engine, partial, manifest)
        os.replace(partial, path)
    return BackupSummary(str(path), path.stat().st_size, facts["invoices"], facts["documents"],
                         time.monotonic() - started)


def _restore_sqlite(archive, size: int, algorithm: str, expected: str, target: Path, corrupt: DomainError) -> None:
    """The backup's database file becomes the (empty) target: checked, copied next to it (in the kernel), then
    renamed over it, so a damaged file or a failure half-way leaves the target as it was."""
    offset = archive.tell()
    if _hash_file(archive, offset, size, algorithm) != (expected, size):
        raise corrupt
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".restoring")
    try:
        with os.fdopen(handle, "wb") as out:
            if _copy_range(archive, offset, size, out, 0) != size:
                raise corrupt
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
    algorithm = manifest.get("checksum", "sha256")
    if algorithm not in _HASHERS or algorithm not in manifest:
        raise DomainError(f"{path} のチェックサム（{algorithm}）を確かめられません。何も変更していません。")
    corrupt = DomainError(f"バックアップの中身が壊れています（チェックサム {algorithm} が記録と一致しません）。何も変更していません。")
    engine.dispose()
    with open(path, "rb") as archive:
        archive.seek(offset)
        if engine.dialect.name == "sqlite":
            _restore_sqlite(archive, size, algorithm, manifest[algorithm], Path(engine.url.database), corrupt)
        else:
            # checked first (a read of the file, no write), then streamed into pg_restore: nothing is changed
            # by a damaged file
            if _hash_file(archive, offset, size, algorithm) != (manifest[algorithm], size):
                raise corrupt
            archive.seek(offset)
            restoring = subprocess.Popen(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                          "--single-transaction", "--dbname", _libpq_url(engine.url)],
                                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            errors = _collect_stderr(restoring)
            try:
                _copy_range_to_stream(archive, restoring.stdin, size)
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
