"""The operator's logo for the member documents: checked once when it is uploaded (settings screen),
so that rendering never meets a file it cannot draw. PNG or JPEG only (what xhtml2pdf/ReportLab
embed as they are), at most LOGO_MAX_BYTES and LOGO_MAX_PIXELS on a side: it is embedded in every
document of every member, so its size is paid thousands of times a month."""
from __future__ import annotations

import io

from app.domain.errors import DomainError

LOGO_MAX_BYTES = 300 * 1024
LOGO_MAX_PIXELS = 2000
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}


def check_logo(data: bytes) -> str:
    """The MIME type of a logo the documents can print; DomainError (Japanese) otherwise."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise DomainError("ロゴの画像ファイルが空です。", "logo_upload")
    if len(data) > LOGO_MAX_BYTES:
        raise DomainError(f"ロゴの画像は{LOGO_MAX_BYTES // 1024:,}KBまでです（{len(data) / 1024:,.0f}KB）。"
                          "小さくしてから登録してください。", "logo_upload")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError("ロゴの画像を読み取れません。PNG か JPEG の画像を選んでください。", "logo_upload") from None
    if image_format not in _MIME:
        raise DomainError(f"ロゴの画像は PNG か JPEG にしてください（選んだ画像は {image_format}）。", "logo_upload")
    if max(width, height) > LOGO_MAX_PIXELS:
        raise DomainError(f"ロゴの画像は縦横{LOGO_MAX_PIXELS:,}ピクセルまでです（{width:,}×{height:,}）。", "logo_upload")
    return _MIME[image_format]
