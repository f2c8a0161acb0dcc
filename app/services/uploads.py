"""Files that come from outside (screen uploads, CLI arguments, the inbox): size limits, and the
client's file name as text to show, never as a path (issue 8, items 9–12).

An upload is read from its stream (werkzeug spools it to a temporary file of its own past 500 KB),
never saved under a name the client chose: a file named `..` or `../../x` must not reach the file
system. The limits are settings (config.py, each with an environment variable) so an operator with
unusual files can raise them; every refusal says the limit in Japanese."""
import unicodedata
from pathlib import Path

from flask import current_app

from app.domain.errors import DomainError

CHUNK = 1 << 20


def limit(name: str) -> int:
    """A limit from the configuration (config.py lists them with their defaults)."""
    return int(current_app.config[name])


def size_text(size: int) -> str:
    """1048576 → '1 MB', 262144 → '256 KB', 900 → '900 バイト' (as the refusal shows the limit)."""
    for unit, name in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
        if size >= unit:
            value = size / unit
            return f"{value:,.0f} {name}" if value == int(value) else f"{value:,.1f} {name}"
    return f"{size:,} バイト"


def too_large(file_name: str, maximum: int) -> DomainError:
    return DomainError(f"{file_name}: ファイルが大きすぎます（上限 {size_text(maximum)}）。"
                       "分けて取り込むか、管理者に上限の変更を依頼してください。")


def read_capped(source, maximum: int, file_name: str) -> bytes:
    """The whole file as bytes, refused past `maximum` without reading more than maximum + 1 bytes.
    `source` is a path or a binary stream (an upload's stream)."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as stream:
            return read_capped(stream, maximum, file_name)
    data = source.read(maximum + 1)
    if len(data) > maximum:
        raise too_large(file_name, maximum)
    return data


def spool_capped(source, maximum: int, file_name: str):
    """A binary stream copied, 1 MiB at a time, into an anonymous temporary file (no name of the
    client's; gone when closed), refused past `maximum` bytes. Returns the file, at position 0."""
    import tempfile

    spool = tempfile.TemporaryFile(prefix="tollbook-upload-")
    size = 0
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > maximum:
            spool.close()
            raise too_large(file_name, maximum)
        spool.write(chunk)
    spool.seek(0)
    return spool


def display_name(name, fallback: str = "ファイル") -> str:
    """A file name as text for a message or a report line: the last path part only, control
    characters (newline, tab, escape) and undecodable bytes shown escaped, at most 120 characters.
    For messages only: no path is ever built from it."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "backslashreplace")
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Undecodable bytes of a name from the file system arrive as lone surrogates (PEP 383).
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
    if len(text) > 120:
        text = text[:60] + "…" + text[-59:]
    return text or fallback


def read_named_file(source, file_name: str | None, fallback: str, limit_name: str) -> tuple[str, bytes, str]:
    """A path (CLI) or an upload's stream (with its display name): (name for messages, bytes, SHA-256),
    refused past the configured limit."""
    import hashlib

    if isinstance(source, (str, Path)):
        file_name = file_name or Path(source).name
    file_name = file_name or fallback
    body = read_capped(source, limit(limit_name), file_name)
    return file_name, body, hashlib.sha256(body).hexdigest()
