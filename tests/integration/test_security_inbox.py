"""issue 8 item 11: the inbox with hostile files — a file still being written waits, links and
special files are skipped (never followed), odd byte names and 250-byte names are reported safely,
a newline in a name cannot forge an "OK" line, and each result is reported as it happens."""
import os
import time

import pytest
from sqlalchemy import func, select

from app.models.usage import ImportBatch, UsageRecord
from app.services.actor import acting_as
from app.services.inbox import import_inbox
from tests.integration.test_usage_import import cards, drop, fixture, inbox  # noqa: F401  (fixtures)


def run(report=None):
    with acting_as("inbox"):
        return import_inbox(report=report)


def batches(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ImportBatch))


def test_a_file_still_being_written_waits_until_it_is_stable(db, cards, inbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "INBOX_STABLE_SECONDS", 60)
    whole = fixture("etc-meisai-2026-10.csv").read_bytes()
    lines = whole.splitlines(keepends=True)
    folder = inbox / "etc-meisai"
    folder.mkdir(parents=True)
    growing = folder / "growing.csv"
    growing.write_bytes(b"".join(lines[:3]))  # the copy has only begun
    result = run()
    assert result == ["WAIT etc-meisai/growing.csv: 書き込み中の可能性があるため、変更が60秒止まってから取り込みます。"]
    assert growing.exists() and batches(db) == 0

    growing.write_bytes(whole)  # finished, and left alone for a minute
    past = time.time() - 61
    os.utime(growing, (past, past))
    result = run()
    assert result[0].startswith("OK etc-meisai/growing.csv: "), result
    assert db.session.scalar(select(func.count()).select_from(UsageRecord)) == len(lines) - 1  # every row


def test_links_and_special_files_are_skipped_and_never_read(db, cards, inbox, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_bytes(fixture("etc-meisai-2026-10.csv").read_bytes())
    folder = inbox / "etc-meisai"
    folder.mkdir(parents=True)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (folder / "secret.csv").symlink_to(secret)
    os.mkfifo(folder / "pipe.csv")
    result = sorted(run())
    assert result == [
        "SKIP etc-meisai/passwd.csv: シンボリックリンクのため取り込みません（リンク先は読みません）。ファイルそのものを置いてください。",
        "SKIP etc-meisai/pipe.csv: 通常のファイルではないため取り込みません。",
        "SKIP etc-meisai/secret.csv: シンボリックリンクのため取り込みません（リンク先は読みません）。ファイルそのものを置いてください。",
    ]
    assert batches(db) == 0
    assert (folder / "secret.csv").is_symlink() and secret.exists()  # left as they were


def test_odd_byte_names_are_reported_escaped_through_the_cli(db, cards, inbox, app, monkeypatch):
    folder = inbox / "etc-meisai"
    folder.mkdir(parents=True)
    odd = os.path.join(os.fsencode(folder), b"meisai-\xff\xfe.csv")
    with open(odd, "wb") as out:
        out.write(fixture("etc-meisai-2026-10.csv").read_bytes())
    result = app.test_cli_runner().invoke(args=["etc", "import-inbox"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK etc-meisai/meisai-\\xff\\xfe.csv: 取込#"), result.output
    assert os.path.exists(os.path.join(os.fsencode(folder), b"done", b"meisai-\xff\xfe.csv"))


def test_a_newline_in_a_name_cannot_forge_an_ok_line(db, cards, inbox, app):
    folder = inbox / "etc-meisai"
    folder.mkdir(parents=True)
    forged = "bad.csv\nOK forged.csv: 取込#99 10件"  # no "/" in a file name
    (folder / forged).write_bytes(fixture("etc-meisai-bad-row.csv").read_bytes())
    result = app.test_cli_runner().invoke(args=["etc", "import-inbox"])
    assert result.exit_code == 1
    output = result.output.splitlines()
    assert len(output) == 1 and output[0].startswith("NG etc-meisai/bad.csv\\nOK forged.csv"), output
    assert not any(line.startswith("OK") for line in output)


def test_a_250_byte_name_gets_its_error_file(db, cards, inbox):
    name = "n" * 246 + ".csv"
    assert len(name.encode()) == 250
    drop(inbox, "etc-meisai", "etc-meisai-bad-row.csv", as_name=name)
    result = run()
    assert result[0].startswith(f"NG etc-meisai/{name[:60]}…"), result  # shown shortened
    failed = inbox / "etc-meisai" / "failed"
    written = sorted(p.name for p in failed.iterdir())
    assert written[0] == name
    assert written[1].endswith(".errors.txt") and len(written[1].encode()) <= 255
    assert "4行目" in (failed / written[1]).read_text(encoding="utf-8")
    # The same name again: the numbered copy and its error file fit too.
    drop(inbox, "etc-meisai", "etc-meisai-bad-row.csv", as_name=name)
    assert run()[0].startswith("NG ")
    assert len(list(failed.iterdir())) == 4
    assert all(len(p.name.encode()) <= 255 for p in failed.iterdir())


def test_each_result_is_reported_as_it_happens(db, cards, inbox):
    first = drop(inbox, "etc-meisai", "etc-meisai-bad-row.csv", as_name="a.csv", age=1)
    second = drop(inbox, "etc-meisai", "etc-meisai-2026-10.csv", as_name="b.csv", age=2)
    seen = []

    def report(line):
        seen.append((line, first.exists(), second.exists()))

    run(report)
    assert [line.split(":")[0] for line, _, _ in seen] == ["NG etc-meisai/a.csv", "OK etc-meisai/b.csv"]
    assert seen[0][1:] == (False, True)  # a.csv reported while b.csv was still waiting its turn
