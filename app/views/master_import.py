"""マスタ取込（Excel）: upload the workbook; see the summary, or the list of problems and nothing saved."""
from urllib.parse import quote

from flask import Response, request
from flask_appbuilder import BaseView, expose, has_access
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import RequestEntityTooLarge

from app.domain.clock import today_jst
from app.importers.master_excel import CellError, template_bytes
from app.services.master_import import MasterImportFailed, import_master_file
from app.services.uploads import display_name, limit, too_large

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MasterImportView(BaseView):
    route_base = "/master-import"
    default_view = "upload"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        errors, summary, filename, total, status = None, None, None, 0, 200
        if request.method == "POST":
            maximum = limit("MASTER_IMPORT_MAX_BYTES")
            # Werkzeug refuses a bigger request body before spooling it (the form fields fit in the margin).
            request.max_content_length = maximum + (1 << 20)
            try:
                upload = request.files.get("file")
            except RequestEntityTooLarge:
                upload, errors = None, [CellError(None, None, None, too_large("Excelファイル", maximum).message)]
            filename = display_name(upload.filename) if upload and upload.filename else None
            if errors:
                pass
            elif not filename:
                errors = [CellError(None, None, None, "取り込むExcelファイルを選んでください。")]
            else:
                try:
                    summary = import_master_file(upload.stream, filename)
                except MasterImportFailed as failure:
                    errors, total = failure.errors, failure.total
        return self.render_template("tollbook/master_import.html", errors=errors, summary=summary,
                                    filename=filename, total=total or len(errors or ()),
                                    csrf_token=generate_csrf), status

    @expose("/template/")
    @has_access
    def template(self):
        name = f"マスタ取込ひな形_{today_jst():%Y%m%d}.xlsx"
        return Response(template_bytes(), mimetype=XLSX,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
