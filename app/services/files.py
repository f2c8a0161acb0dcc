"""Files the commands write for people and banks (全銀 data, Excel lists, PDFs).

Written whole or not at all: first to a temporary file in the same folder, flushed to disk, then renamed over
the target (a rename within one file system is atomic). A process killed half-way (kill -9, a power cut)
leaves the previous file intact, never a truncated 全銀 file that a bank's upload would reject or, worse,
half accept (issue 13 item 4)."""
import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would surprise whoever picks the file up
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
