"""What a render worker process runs: one document from its data (docs-render's render_document), the
failure returned as a Japanese reason instead of raised (an exception object may not survive pickling
back to the parent, and one bad document must not stop the others). No database, no Flask app."""
import os


def init_worker(font_path: str | None) -> None:
    """Pool initializer: the parent's font (its app config may name one the worker cannot read)."""
    if font_path:
        os.environ["PDF_FONT_PATH"] = font_path
    from app.documents.pdf import register_font

    register_font()


def render_one(kind: str, fmt: str, data) -> tuple[bool, bytes | str]:
    from app.documents import render

    try:
        content = render.render_document(kind, fmt, data)
    except Exception as error:  # noqa: BLE001  the reason goes to the document row
        return False, failure_reason(error)
    if not isinstance(content, (bytes, bytearray)) or not content:
        return False, "帳票の作成結果が空です"
    return True, bytes(content)


def failure_reason(error: Exception) -> str:
    """What staff read as the reason: a Japanese message as it is (the renderer's and PdfRenderError's are
    sentences already); anything else with the error's type, for whoever looks into it."""
    message = str(error)
    if message and not message.isascii():
        return message[:480]
    return f"{type(error).__name__}: {message}"[:480]
