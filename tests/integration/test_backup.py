"""Issue 13 item 5 (part): `flask etc backup PATH` and `flask etc restore PATH` — a round trip gives back every
invoice total and every stored document's bytes and hash; bad files, another database kind, another schema
version and a non-empty target are refused in Japanese with nothing changed."""
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from app.models.billing import Invoice
from app.models.document import IssuedDocument
from app.services.documents.rendering import render_documents

from .documents_month import MONTH, build_closed_month

REPO = Path(__file__).resolve().parents[2]


def flask(args, database_url, instance):
    env = {**os.environ, "FLASK_APP": "run.py", "DATABASE_URL": database_url, "TOLLBOOK_INSTANCE": str(instance)}
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", "etc", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture()
def empty_target(db, tmp_path):
    """A second, empty database of the same kind as the test database."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    import psycopg

    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{url.database}_restore"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def snapshot(engine_or_session):
    invoices = engine_or_session.execute(select(Invoice.id, Invoice.number, Invoice.total).order_by(Invoice.id)).all()
    documents = engine_or_session.execute(select(IssuedDocument.id, IssuedDocument.sha256, IssuedDocument.content,
                                                 IssuedDocument.chain_hash).order_by(IssuedDocument.id)).all()
    return [tuple(r) for r in invoices], [tuple(r) for r in documents]


def test_backup_and_restore_give_back_every_total_and_document(app, db, tmp_path, empty_target):
    build_closed_month(db, tmp_path)
    render_documents(MONTH, processes=2)
    before = snapshot(db.session)
    assert len(before[0]) == 2 and len(before[1]) == 2 * 8 and all(d[1] for d in before[1])
    path = tmp_path / "tollbook.backup"
    made = app.test_cli_runner().invoke(args=["etc", "backup", str(path)])
    assert made.exit_code == 0, made.output
    assert f"バックアップを作成しました: {path}" in made.output and "請求書 " in made.output and "帳票 16件" in made.output
    with tarfile.open(path) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
    assert manifest["format"] == "tollbook-backup-1" and manifest["documents"] == 16

    restored = flask(["restore", str(path)], empty_target, tmp_path / "instance")
    assert restored.returncode == 0, restored.stderr
    assert "を復元しました" in restored.stdout and "ハッシュチェーン一致" in restored.stdout
    engine = create_engine(empty_target)
    with engine.connect() as connection:
        assert snapshot(connection) == before
        # the restored database is a working one: its documents' chain verifies
    engine.dispose()
    verified = flask(["verify-documents"], empty_target, tmp_path / "instance")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # a second restore onto the now filled database is refused, nothing changed
    again = flask(["restore", str(path)], empty_target, tmp_path / "instance")
    assert again.returncode == 1 and "復元先のデータベースが空ではありません" in again.stderr


def test_bad_files_and_other_versions_are_refused(app, db, tmp_path):
    runner = app.test_cli_runner()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup")
    result = runner.invoke(args=["etc", "restore", str(junk)])
    assert result.exit_code == 1 and "Tollbook のバックアップではありません" in result.output

    path = tmp_path / "old.backup"
    assert runner.invoke(args=["etc", "backup", str(path)]).exit_code == 0
    with tarfile.open(path) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        data = archive.extractfile(manifest["file"]).read()
    manifest["revision"] = "0000aaaa1111"
    old = tmp_path / "other-version.backup"
    with tarfile.open(old, "w") as archive:
        for name, body in (("manifest.json", json.dumps(manifest).encode()), (manifest["file"], data)):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            import io

            archive.addfile(info, io.BytesIO(body))
    result = runner.invoke(args=["etc", "restore", str(old)])
    assert result.exit_code == 1 and "別の版のデータベース（スキーマ 0000aaaa1111）" in result.output
    assert db.session.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1  # untouched

    result = runner.invoke(args=["etc", "backup", str(tmp_path / "no-such-folder" / "x.backup")])
    assert result.exit_code == 1 and "に書き込めません" in result.output


def test_the_archive_is_a_plain_tar_and_a_damaged_byte_changes_nothing(app, db, tmp_path, empty_target):
    build_closed_month(db, tmp_path)
    path = tmp_path / "tollbook.backup"
    assert app.test_cli_runner().invoke(args=["etc", "backup", str(path)]).exit_code == 0
    listed = subprocess.run(["tar", "tvf", str(path)], capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in listed.splitlines()]
    assert sorted(names) in (["database.sqlite3", "manifest.json"], ["database.dump", "manifest.json"])
    names.remove("manifest.json")
    with tarfile.open(path) as archive:
        member = archive.getmember(names[0])
        offset = member.offset_data
    damaged = tmp_path / "damaged.backup"
    data = bytearray(path.read_bytes())
    data[offset + member.size // 2] ^= 0xFF  # one byte in the middle of the database
    damaged.write_bytes(bytes(data))
    result = flask(["restore", str(damaged)], empty_target, tmp_path / "instance")
    assert result.returncode == 1 and "が記録と一致しません" in result.stderr
    engine = create_engine(empty_target)
    with engine.connect() as connection:  # still empty: nothing was restored
        assert not connection.dialect.get_table_names(connection)
    engine.dispose()


def test_without_insert_range_and_from_an_older_sha256_backup_the_round_trip_holds(app, db, tmp_path, empty_target,
                                                                                     monkeypatch):
    """Where the file system cannot insert in front of the copy (btrfs, tmpfs…) the copy is copied once instead;
    a backup made before XXH3 (its manifest names a SHA-256) is still checked and restored."""
    import hashlib
    import io

    from app.services import backup as service

    build_closed_month(db, tmp_path)
    monkeypatch.setattr(service, "_insert_at_start", lambda handle, length: False)
    path = tmp_path / "copied.backup"
    assert app.test_cli_runner().invoke(args=["etc", "backup", str(path)]).exit_code == 0
    with tarfile.open(path) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        data = archive.extractfile(manifest["file"]).read()
    assert manifest["checksum"] == "xxh3_128"
    legacy = {k: v for k, v in manifest.items() if k not in ("checksum", "xxh3_128")}
    legacy["sha256"] = hashlib.sha256(data).hexdigest()
    old = tmp_path / "sha256.backup"
    with tarfile.open(old, "w") as archive:
        for name, body in (("manifest.json", json.dumps(legacy).encode()), (manifest["file"], data)):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    restored = flask(["restore", str(old)], empty_target, tmp_path / "instance")
    assert restored.returncode == 0, restored.stderr
    assert f"請求書 {manifest['invoices']:,}件・請求金額合計 {manifest['invoice_total']:,}円" in restored.stdout
