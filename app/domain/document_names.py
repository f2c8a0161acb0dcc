"""File names of issued documents (docs/documents.md).

`flask etc documents` and the month's ZIP: `<member code>_<kind>_<YYYY-MM>.<pdf|xlsx>` for the
member's current invoice of the month (the contract of issue 10). A member whose invoice was
corrected that month also has the documents of the cancelled invoice; they keep the same name with
`_cancelled-<its invoice number>` added, so the current one keeps the plain name and nothing is lost:
`M0001_invoice_2026-10.pdf` (the corrected invoice) and `M0001_invoice_2026-10_cancelled-00000001.pdf`.

Downloads from the screens carry a Japanese name (Content-Disposition filename*):
`請求書_M0001_2026-10.pdf`, `請求書_M0001_2026-10_取消00000001.pdf`.
"""
import re

_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")


def safe_code(code: str) -> str:
    """A member code as a file-name part (codes are letters and digits; anything else becomes -)."""
    return _UNSAFE.sub("-", code or "") or "-"


def export_file_name(member_code: str, kind: str, month: str, fmt: str,
                     cancelled_number: str | None = None) -> str:
    suffix = f"_cancelled-{safe_code(cancelled_number)}" if cancelled_number else ""
    return f"{safe_code(member_code)}_{kind}_{month}{suffix}.{fmt}"


def download_file_name(title: str, member_code: str, month: str, fmt: str,
                       cancelled_number: str | None = None) -> str:
    suffix = f"_取消{safe_code(cancelled_number)}" if cancelled_number else ""
    return f"{title}_{safe_code(member_code)}_{month}{suffix}.{fmt}"
