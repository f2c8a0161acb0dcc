"""マスタ取込（Excel）: upload the workbook; see the summary, or the list of problems and nothing saved."""
import datetime as dt
from urllib.parse import quote

from flask import Response, current_app, request
from flask_appbuilder import BaseView, expose, has_access
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

from app.importers.master_excel import CellError, template_bytes
from app.services.master_import import MasterImportFailed, import_master_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MasterImportView(BaseView):
    route_base = "/master-import"
    default_view = "upload"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        errors, summary, filename, status = None, None, None, 200
        if request.method == "POST":
            upload = request.files.get("file")
            filename = upload.filename if upload else None
            if not _csrf_ok():
                errors, status = [CellError(None, None, None, "画面の有効期限が切れました。画面を開き直して、"
                                                              "もう一度ファイルを選んでください。")], 400
            elif not filename:
                errors = [CellError(None, None, None, "取り込むExcelファイルを選んでください。")]
            else:
                try:
                    summary = import_master_file(upload.stream)
                except MasterImportFailed as failure:
                    errors = failure.errors
        return self.render_template("tollbook/master_import.html", errors=errors, summary=summary,
                                    filename=filename, csrf_token=generate_csrf), status

    @expose("/template/")
    @has_access
    def template(self):
        name = f"マスタ取込ひな形_{dt.date.today():%Y%m%d}.xlsx"
        return Response(template_bytes(), mimetype=XLSX,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _csrf_ok() -> bool:
    """FAB's own forms check their token as FlaskForms; this plain form checks it here, because the
    app installs no global CSRFProtect."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True
