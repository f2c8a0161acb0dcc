"""受信フォルダ: files dropped into instance/inbox/<profile name>/ are imported by the scheduler or
`flask etc import-inbox`. Each file ends in done/ (imported or already imported) or failed/ with
a .errors.txt beside it, so nothing is lost and nothing is imported twice.

Files from outside are treated as hostile (issue 8 item 11):
- a file is imported only once its size and modification time have stayed unchanged for
  INBOX_STABLE_SECONDS (a file still being copied in would otherwise be imported half); a file
  written elsewhere and renamed into the folder keeps its old time and is imported at once, and
  names starting with "." are never taken (write to ".name" and rename when done);
- symbolic links and anything that is not a regular file are skipped with a message, never
  followed (the file is opened with O_NOFOLLOW, so a link swapped in after the check fails too);
- names are reported through display_name (undecodable bytes and control characters escaped: a
  newline in a name cannot start a forged "OK …" line), and the names written beside a file
  (.errors.txt, numbered copies) are shortened to the file system's 255 bytes;
- each result is reported as soon as it is known (`report`), so a crash later loses nothing."""
import hashlib
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Callable

from flask import current_app
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.usage import ImportProfile

from .uploads import display_name
from .usage_import import ImportRefused, import_usage_file

NAME_MAX = 255  # bytes in one file name (Linux, macOS)
ERRORS_SUFFIX = ".errors.txt"


def inbox_root() -> Path:
    return Path(current_app.config.get("INBOX_DIR") or Path(current_app.instance_path) / "inbox")


def ensure_inbox_folders() -> Path:
    root = inbox_root()
    root.mkdir(parents=True, exist_ok=True)
    for name in db.session.scalars(select(ImportProfile.name)):
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


def fit_name(name: str, suffix: str = "") -> str:
    """name + suffix, shortened (a hash keeps it unique) when longer than NAME_MAX bytes."""
    raw, extra = os.fsencode(name), os.fsencode(suffix)
    if len(raw) + len(extra) <= NAME_MAX:
        return name + suffix
    digest = "~" + hashlib.sha256(raw).hexdigest()[:8]
    cut = raw[:NAME_MAX - len(extra) - len(digest)]
    while cut and cut[-1] & 0xC0 == 0x80:  # not in the middle of a UTF-8 character
        cut = cut[:-1]
    if cut and cut[-1] >= 0xC0:
        cut = cut[:-1]
    return os.fsdecode(cut) + digest + suffix


def _move(path: Path, folder: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / fit_name(path.stem, f".{n}{path.suffix}")
        n += 1
    shutil.move(str(path), target)
    return target


def _write_errors(moved: Path, lines: list[str]) -> None:
    (moved.parent / fit_name(moved.name, ERRORS_SUFFIX)).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _waiting_or_refused(path: Path, stable_seconds: int, now: float) -> tuple[str | None, str | None]:
    """(kind, why): (None, None) not a file to look at (a folder), ("", None) import it now, or
    ("SKIP" / "WAIT", the reason)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "SKIP", "シンボリックリンクのため取り込みません（リンク先は読みません）。ファイルそのものを置いてください。"
    if stat.S_ISDIR(info.st_mode):
        return None, None  # done/, failed/ and other folders: not files to import
    if not stat.S_ISREG(info.st_mode):
        return "SKIP", "通常のファイルではないため取り込みません。"
    if now - info.st_mtime < stable_seconds:
        return "WAIT", (f"書き込み中の可能性があるため、変更が{stable_seconds}秒止まってから取り込みます。")
    return "", None


def _open_checked(path: Path, stable_seconds: int, now: float):
    """The file opened without following links, re-checked on the open handle."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < stable_seconds:
        handle.close()
        return None
    return handle


def import_inbox(report: Callable[[str], None] | None = None) -> list[str]:
    """One line per file, 'OK …', 'NG …', 'SKIP …' (links, devices) or 'WAIT …' (still changing),
    each handed to `report` as soon as it is known. Files are taken oldest first."""
    root = ensure_inbox_folders()
    stable_seconds = int(current_app.config.get("INBOX_STABLE_SECONDS", 60))
    lines = []

    def result(kind: str, folder: Path, path: Path, text: str):
        line = f"{kind} {display_name(folder.name)}/{display_name(path.name)}: {text}"
        lines.append(line)
        if report is not None:
            report(line)

    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        entries = []
        for path in folder.iterdir():
            if path.name.startswith("."):
                continue
            try:
                entries.append((path, os.lstat(path).st_mtime))
            except OSError:
                continue  # gone since the listing
        for path, _ in sorted(entries, key=lambda entry: entry[1]):
            now = time.time()
            try:
                kind, why = _waiting_or_refused(path, stable_seconds, now)
                if kind is None:
                    continue
                if kind:
                    result(kind, folder, path, why)
                    continue
                handle = _open_checked(path, stable_seconds, now)
            except OSError as error:  # a link swapped in (ELOOP), removed, unreadable
                result("SKIP", folder, path, f"開けないため取り込みません（{error.strerror}）。")
                continue
            if handle is None:
                result("WAIT", folder, path, f"変更が{stable_seconds}秒止まってから取り込みます。")
                continue
            name = display_name(path.name)
            with handle:
                try:
                    summary = import_usage_file(handle, folder.name, file_name=name)
                except ImportRefused as refused:
                    db.session.rollback()
                    outcome = ("refused", refused)
                except DomainError as error:
                    db.session.rollback()
                    outcome = ("error", error)
                else:
                    outcome = ("done", summary)
            kind, value = outcome
            if kind == "done":
                _move(path, "done")
                result("OK", folder, path, str(value))
            elif kind == "refused":
                already = not value.errors and "取込済み" in value.message
                moved = _move(path, "done" if already else "failed")
                if not already:
                    _write_errors(moved, [value.message, *map(str, value.errors)])
                result("OK" if already else "NG", folder, path, value.message)
            else:
                _write_errors(_move(path, "failed"), [value.message])
                result("NG", folder, path, value.message)
    return lines
