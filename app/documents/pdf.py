"""HTML → PDF with IPAex Gothic embedded (xhtml2pdf 0.2.28 / ReportLab).

Why this way (../shared/design/stack-notes.md §3, measured):
- The font is registered once with ReportLab and mapped to the CSS family ``ipaexg`` in xhtml2pdf's
  font table. ``@font-face`` would be blocked by xhtml2pdf's resource policy (files outside the cwd) and
  silently fall back to Helvetica, which has no Japanese glyphs.
- Noto CJK is a CFF OpenType font that ReportLab cannot embed; IPAex Gothic is TrueType and embeds
  as a subset (``pdffonts``: ``IPAexGothic TrueType emb yes sub yes uni yes``).
- There is no fallback to a non-embedded CID font: a document must look the same on any viewer, so a
  missing font is an error naming the path to install, never a quietly different PDF.
- Templates put ``-pdf-word-wrap: CJK`` on paragraph classes only (on ``body`` it swallows ``<br/>`` in
  table cells), and use ``<pdf:pagecount/>`` only where a page x / y footer is wanted (it costs a second
  layout pass).
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

FONT_FAMILY = "ipaexg"  # the CSS font-family templates use
FONT_NAME = "IPAexGothic"  # the name ReportLab embeds

# Debian's fonts-ipaexfont-gothic (installed by scripts/setup.sh); the first existing one is used.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
)

_lock = threading.Lock()
_registered_path: str | None = None


class PdfRenderError(Exception):
    """A document could not be rendered; the message is Japanese and says why."""


def font_path() -> str:
    """The TTF to embed: PDF_FONT_PATH (environment or app config) or Debian's IPAex Gothic."""
    configured = os.environ.get("PDF_FONT_PATH") or _config_font_path()
    candidates = (configured,) if configured else FONT_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise PdfRenderError(
        "PDFに埋め込む日本語フォント（IPAexゴシック）が見つかりません: "
        + "、".join(c for c in candidates if c)
        + "。`sudo apt-get install fonts-ipaexfont-gothic` で導入するか、PDF_FONT_PATH に ipaexg.ttf の場所を設定してください。"
    )


def _config_font_path() -> str | None:
    try:
        from flask import current_app

        return current_app.config.get("PDF_FONT_PATH")
    except RuntimeError:  # outside an application context (a render worker process)
        return None


def register_font() -> str:
    """Register IPAex Gothic with ReportLab and xhtml2pdf once per process; returns its path."""
    global _registered_path
    with _lock:
        if _registered_path:
            return _registered_path
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from reportlab.lib.fonts import addMapping
        from xhtml2pdf.default import DEFAULT_FONT

        path = font_path()
        pdfmetrics.registerFont(TTFont(FONT_NAME, path))
        # One face serves all four styles: IPAex has no bold; ReportLab would otherwise look for one.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(FONT_NAME, bold, italic, FONT_NAME)
        DEFAULT_FONT[FONT_FAMILY] = FONT_NAME
        DEFAULT_FONT[FONT_NAME.lower()] = FONT_NAME
        _registered_path = path
        return path


def html_to_pdf(html: str) -> bytes:
    """Render one HTML document (styled for xhtml2pdf) to PDF bytes, the Japanese font embedded."""
    from xhtml2pdf import pisa

    register_font()
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        messages = "; ".join(str(entry[-1]) for entry in getattr(status, "log", []) if entry)
        raise PdfRenderError(f"PDFを作成できませんでした（xhtml2pdf のエラー {status.err}件）: {messages or '詳細なし'}")
    return out.getvalue()
