"""Error pages in Japanese instead of werkzeug's English ones: every HTTP error (400–5xx, 405
included) and the CSRF refusal, for visitors and logged-in users alike."""
from flask import g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import appbuilder

PAGES = {
    400: ("リクエストが正しくありません", "URL や入力の形式が正しくありません。画面のリンクやボタンから操作してください。"),
    401: ("ログインが必要です", "ログインしてからもう一度お試しください。"),
    403: ("アクセスできません", "このページを表示する権限がありません。"),
    404: ("ページが見つかりません", "URL をご確認ください。"),
    405: ("この操作はできません", "このページはその方法では開けません。画面のリンクやボタンから操作してください。"),
    406: ("表示できません", "ご利用のブラウザが受け付ける形式で返せません。"),
    408: ("時間切れです", "送信に時間がかかりすぎました。もう一度お試しください。"),
    409: ("他の操作と重なりました", "同じデータが同時に変更されました。画面を開き直してもう一度お試しください。"),
    410: ("ページはありません", "このページは削除されました。"),
    411: ("リクエストが正しくありません", "送信の形式が正しくありません。"),
    413: ("ファイルが大きすぎます", "送信したデータが上限を超えています。ファイルを分けて送信してください。"),
    414: ("URL が長すぎます", "検索条件を減らしてもう一度お試しください。"),
    415: ("この形式は受け付けられません", "送信したデータの形式に対応していません。"),
    416: ("範囲が正しくありません", "要求された範囲を返せません。"),
    422: ("内容を処理できません", "入力内容を確認してください。"),
    431: ("リクエストが大きすぎます", "ブラウザの Cookie を削除してからもう一度お試しください。"),
    500: ("エラーが発生しました", "処理中にエラーが発生しました。時間をおいてもう一度お試しください。"),
    501: ("この操作には対応していません", "この操作はできません。"),
    502: ("サーバーに接続できません", "時間をおいてもう一度お試しください。"),
    503: ("ただいま利用できません", "時間をおいてもう一度お試しください。"),
    504: ("サーバーの応答がありません", "時間をおいてもう一度お試しください。"),
}
# Form fields never shown back: the token itself, passwords and one-time codes.
_HIDDEN_FIELDS = ("csrf_token", "password", "passwd", "otp", "totp", "code_2fa")


def _ensure_user():
    """FAB sets g.user in its own before_request; a request refused before it (CSRFProtect runs
    first) would make the base template fail with AttributeError: user, i.e. an English 500."""
    if "user" not in g:
        g.user = current_user


def _page(code: int, title: str, message: str, **extra):
    _ensure_user()
    return render_template("tollbook/error.html", code=code, title=title, message=message,
                           appbuilder=appbuilder, base_template=appbuilder.base_template, **extra), code


def _labels() -> dict:
    """The Japanese labels of the view the form was sent to (FAB views' label_columns)."""
    endpoint = (request.endpoint or "").split(".")[0]
    for view in appbuilder.baseviews:
        if getattr(view, "endpoint", None) == endpoint:
            return getattr(view, "label_columns", None) or {}
    return {}


def _kept_input() -> list[tuple[str, str]]:
    """What the user typed in the refused form (not the token, passwords or files), to copy back."""
    labels, kept = _labels(), []
    for name, values in request.form.lists():
        if any(hidden in name.lower() for hidden in _HIDDEN_FIELDS):
            continue
        for value in values:
            if value.strip():
                kept.append((str(labels.get(name) or name), value))
    return kept[:100]


def register_error_pages(app):
    @app.errorhandler(CSRFError)
    def csrf_expired(error):
        return _page(400, "送信できませんでした",
                     "画面を開いてから時間が経ったため（または別の画面からの送信のため）、安全のため受け付けませんでした。"
                     "画面を再読み込みしてから、もう一度入力して送信してください。",
                     kept_input=_kept_input(), reload_url=request.path if request.method != "GET" else None)

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:  # routing redirects are HTTPExceptions too
            return error
        title, message = PAGES.get(error.code) or PAGES[500 if error.code >= 500 else 400]
        response = _page(error.code, title, message)
        if error.code == 405 and getattr(error, "valid_methods", None):
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(InternalServerError)
    def server_error(error):
        return _page(500, *PAGES[500])
