"""Where a form returns to: the page the clerk came from (issue 9 item 6).

FAB keeps a history of visited pages in the session and sends the clerk back to "the page before",
which goes wrong as soon as another tab or a redirect is in between (a card edit ended on the import
list, a new vehicle on the password form). Tollbook carries the way back in the form's own URL
instead: `?next=/memberview/show/1`, taken from the page that opened the form (the Referer header,
which app/security/headers.py sends for same-origin requests) or given by the link. Only a path on
this site is ever followed (no open redirect).
"""
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import request, url_for


def safe_local(url: str | None) -> str | None:
    """A path of this site (with its query), or None for anything else (another host, //evil, javascript:)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        if parts.netloc != request.host or parts.scheme not in ("http", "https"):
            return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return urlunsplit(("", "", path, parts.query, ""))


def next_url() -> str | None:
    return safe_local(request.args.get("next"))


def came_from() -> str | None:
    """The same-site page that opened this one, unless it is this very page (a form posted to itself)."""
    referrer = safe_local(request.referrer)
    if referrer is None or urlsplit(referrer).path == request.path:
        return None
    return referrer


def with_next(url: str, target: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "next"] + [("next", target)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def back_url() -> str:
    """The 戻る button: where the form came from, else FAB's page history."""
    return next_url() or url_for("UtilView.back")
