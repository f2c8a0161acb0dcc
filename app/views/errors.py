"""Error pages in Japanese instead of werkzeug's English ones."""
from flask import render_template

from app.extensions import appbuilder

PAGES = {
    403: ("アクセスできません", "このページを表示する権限がありません。"),
    404: ("ページが見つかりません", "URL をご確認ください。"),
    500: ("エラーが発生しました", "処理中にエラーが発生しました。時間をおいてもう一度お試しください。"),
}


def register_error_pages(app):
    for code, (title, message) in PAGES.items():
        def handler(error, code=code, title=title, message=message):
            return render_template("tollbook/error.html", code=code, title=title, message=message,
                                   appbuilder=appbuilder, base_template=appbuilder.base_template), code
        app.register_error_handler(code, handler)
