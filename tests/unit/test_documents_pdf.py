"""The shared HTML → PDF step embeds IPAex Gothic and keeps Japanese text extractable."""
import subprocess

import pytest

from app.documents import pdf


HTML = """<html><head><style>
@page { size: a4 portrait; margin: 15mm; @frame footer { -pdf-frame-content: footer; bottom: 8mm; height: 8mm; } }
html, body, h1, div, p, td, th { font-family: ipaexg; font-size: 10pt; }
p.note { -pdf-word-wrap: CJK; }
</style></head><body>
<h1>請求書</h1><p>株式会社髙崎運輸 御中</p>
<p class="note">""" + "ご利用ありがとうございます。" * 20 + """</p>
<div id="footer">ページ <pdf:pagenumber/> / <pdf:pagecount/></div>
</body></html>"""


def _run(tool, data, tmp_path, *args):
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run([tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, str(path)],
                          capture_output=True, text=True, check=True).stdout


def test_the_japanese_font_is_embedded_and_the_text_extracts(tmp_path):
    data = pdf.html_to_pdf(HTML)
    assert data.startswith(b"%PDF")
    fonts = _run("pdffonts", data, tmp_path)
    line = next(l for l in fonts.splitlines() if "IPAexGothic" in l)
    assert line.split()[-5:-2] == ["yes", "yes", "yes"]  # emb sub uni
    # ReportLab's canvas always declares Helvetica (unused, not embedded); the text is in IPAex Gothic.
    text = _run("pdftotext", data, tmp_path, "-layout")
    assert "請求書" in text and "株式会社髙崎運輸 御中" in text
    assert "ページ 1 / 1" in text


def test_a_missing_font_is_an_error_in_japanese(monkeypatch, tmp_path):
    monkeypatch.setenv("PDF_FONT_PATH", str(tmp_path / "none.ttf"))
    with pytest.raises(pdf.PdfRenderError, match="日本語フォント"):
        pdf.font_path()
