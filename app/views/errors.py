"""Error pages in Japanese instead of werkzeug's English ones."""
from flask import render_template
from flask_wtf.csrf import CSRFError

from app.extensions import appbuilder

PAGES = {
    403: ("アクセスできません", "このページを表示する権限がありません。"),
    404: ("ページが見つかりません", "URL をご確認ください。"),
    500: ("エラーが発生しました", "処理中にエラーが発生しました。時間をおいてもう一度お試しください。"),
}


def register_error_pages(app):
    @app.errorhandler(CSRFError)
    def csrf_expired(error):
        return render_template("tollbook/error.html", code=400, title="送信できませんでした",
                               message="画面の有効期限が切れたか、不正な送信です。画面を開き直してもう一度お試しください。",
                               appbuilder=appbuilder, base_template=appbuilder.base_template), 400

    for code, (title, message) in PAGES.items():
        def handler(error, code=code, title=title, message=message):
            return render_template("tollbook/error.html", code=code, title=title, message=message,
                                   appbuilder=appbuilder, base_template=appbuilder.base_template), code
        app.register_error_handler(code, handler)
