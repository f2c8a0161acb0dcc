"""Where Flask's SECRET_KEY comes from.

The key signs the session cookie and the CSRF tokens: whoever knows it can forge a login. So it is
never a constant in the code. Production (TOLLBOOK_ENV=production, set by `make serve`) must be given
one of its own in the environment; development (`make run`, `flask …`, tests) gets a random one written
once into the instance folder and kept, so logins survive a restart.
"""
import os
import secrets
from pathlib import Path

PRODUCTION = "production"
KEY_FILE = "secret-key"
MIN_LENGTH = 32
# Keys that shipped in earlier builds or in examples: anyone can sign a cookie with them.
KNOWN_KEYS = frozenset({"dev-only-change-me", "change-me", "changeme", "secret", "dev"})


class SecretKeyError(Exception):
    """The configured key cannot be used; the message says why, in Japanese."""


def environment() -> str:
    return os.environ.get("TOLLBOOK_ENV", "development").strip().lower() or "development"


def is_production() -> bool:
    return environment() == PRODUCTION


def check_key(key: str | None) -> None:
    if not key:
        raise SecretKeyError(
            "環境変数 SECRET_KEY が設定されていません。本番環境（TOLLBOOK_ENV=production）では、"
            f"推測できない {MIN_LENGTH} 文字以上の値を SECRET_KEY に設定してから起動してください"
            "（例: python -c \"import secrets; print(secrets.token_hex(32))\" で作れます）。")
    if key in KNOWN_KEYS:
        raise SecretKeyError("SECRET_KEY に公開されている既定値が設定されています。"
                             "本番環境では独自の値を SECRET_KEY に設定してください。")
    if len(key) < MIN_LENGTH:
        raise SecretKeyError(f"SECRET_KEY が短すぎます（{len(key)} 文字）。本番環境では {MIN_LENGTH} 文字以上の"
                             "推測できない値を設定してください。")


def development_key(instance_dir: Path) -> str:
    """The instance folder's own random key, created on first use (readable by this user only)."""
    path = Path(instance_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once keep the same key (the second one reads it back).
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip()


def resolve_key(instance_dir: Path) -> str | None:
    """SECRET_KEY from the environment; outside production the instance key when none is set.
    In production without one: None, and create_app refuses to start (check_key)."""
    key = os.environ.get("SECRET_KEY")
    if key or is_production():
        return key
    return development_key(instance_dir)
