"""受信フォルダ: files dropped into instance/inbox/<profile name>/ are imported by the scheduler or
`flask etc import-inbox`. Each file ends in done/ (imported or already imported) or failed/ with
a .errors.txt beside it, so nothing is lost and nothing is imported twice."""
import shutil
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.domain.errors import DomainError
from app.extensions import db
from app.models.usage import ImportProfile

from .usage_import import ImportRefused, import_usage_file


def inbox_root() -> Path:
    return Path(current_app.config.get("INBOX_DIR") or Path(current_app.instance_path) / "inbox")


def ensure_inbox_folders() -> Path:
    root = inbox_root()
    for name in db.session.scalars(select(ImportProfile.name)):
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


def _move(path: Path, folder: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    shutil.move(str(path), target)
    return target


def import_inbox() -> list[str]:
    """One line per file: 'OK …' or 'NG …'. Files are taken oldest first."""
    root = ensure_inbox_folders()
    lines = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted((f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")),
                       key=lambda f: f.stat().st_mtime)
        for path in files:
            try:
                summary = import_usage_file(path, folder.name)
            except ImportRefused as refused:
                db.session.rollback()
                already = not refused.errors and "取込済み" in refused.message
                moved = _move(path, "done" if already else "failed")
                if not already:
                    moved.with_name(moved.name + ".errors.txt").write_text(
                        "\n".join([refused.message, *map(str, refused.errors)]) + "\n", encoding="utf-8")
                lines.append(f"{'OK' if already else 'NG'} {folder.name}/{path.name}: {refused.message}")
            except DomainError as error:
                db.session.rollback()
                moved = _move(path, "failed")
                moved.with_name(moved.name + ".errors.txt").write_text(error.message + "\n", encoding="utf-8")
                lines.append(f"NG {folder.name}/{path.name}: {error.message}")
            else:
                _move(path, "done")
                lines.append(f"OK {folder.name}/{path.name}: {summary}")
    return lines
