"""The YAML file of a settings table (料金表, 収納代行・委託者): download it, and upload it back (everything
checked, then applied in one transaction or not at all; every error listed). One implementation for
every screen that offers 「YAMLで書き出し」「YAMLを取り込む」."""
import tempfile
from pathlib import Path

from flask import flash, request
from flask_wtf.csrf import generate_csrf

from app.domain.clock import today_jst
from app.domain.errors import DomainError
from app.services.uploads import display_name

from .usage import _download


def yaml_download(export, title: str):
    """export(path) writes the file; the download is named 「<title>_YYYYMMDD.yaml」."""
    with tempfile.TemporaryDirectory(prefix="tollbook-yaml-") as folder:
        path = Path(folder) / "export.yaml"
        export(path)
        body = path.read_bytes()
    return _download(body, f"{title}_{today_jst():%Y%m%d}.yaml", "application/x-yaml; charset=utf-8")


def yaml_upload(view, do_import, refused_class, *, title: str, intro: str, id_prefix: str, back_endpoint: str,
                back_label: str):
    """GET: the upload form; POST: do_import(stream, file name) → summary, or its refusal with every error."""
    errors, message, summary = [], None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            message = "取り込むYAMLファイルを選んでください。"
        else:
            try:
                summary = do_import(upload.stream, display_name(upload.filename))
            except refused_class as refused:
                message, errors = refused.message, refused.errors
            except DomainError as error:
                message = error.message
        if summary:
            flash(summary, "success")
    return view.render_template("tollbook/yaml_upload.html", message=message, errors=errors, summary=summary,
                                csrf_token=generate_csrf, title=title, intro=intro, id_prefix=id_prefix,
                                back_endpoint=back_endpoint, back_label=back_label)
