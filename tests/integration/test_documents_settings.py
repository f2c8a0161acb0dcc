"""運営者設定 › 帳票: the date style and the logo the member documents print."""
import io
import re

from sqlalchemy import select

from app.models import OperatorSettings

from .test_master_screens import _operator_form, text


def _image(fmt="PNG", size=(120, 40)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, fmt)
    return buffer.getvalue()


def _post(client, settings_id, form, upload=None):
    data = dict(form)
    if upload is not None:
        data["logo_upload"] = (io.BytesIO(upload[1]), upload[0])
    return client.post(f"/operatorsettingsview/edit/{settings_id}", data=data, follow_redirects=True,
                       content_type="multipart/form-data")


def test_date_style_and_logo_are_set_on_the_settings_screen(staff_client, db):
    page = text(staff_client.get(f"/operatorsettingsview/edit/{db.session.scalar(select(OperatorSettings.id))}"))
    assert "帳票の日付" in page and "和暦（令和8年11月29日）" in page and "帳票のロゴ画像" in page
    settings_id, form = _operator_form(db, date_style="wareki")
    png = _image()
    response = _post(staff_client, settings_id, form, ("logo.png", png))
    assert response.status_code == 200
    db.session.expire_all()
    settings = db.session.get(OperatorSettings, settings_id)
    assert (settings.date_style, settings.logo_mime, bytes(settings.logo_image)) == ("wareki", "image/png", png)
    shown = text(staff_client.get(f"/operatorsettingsview/show/{settings_id}"))
    assert "和暦（令和8年11月29日）" in shown and f"登録済み（image/png、{len(png):,}バイト）" in shown

    # saving without a file keeps the logo; 「ロゴを削除する」 removes it
    _post(staff_client, settings_id, {**form, "phone": "03-0000-0000"})
    db.session.expire_all()
    assert bytes(db.session.get(OperatorSettings, settings_id).logo_image) == png
    _post(staff_client, settings_id, {**form, "logo_remove": "y"})
    db.session.expire_all()
    assert db.session.get(OperatorSettings, settings_id).logo_image is None


def test_a_logo_that_is_not_png_or_jpeg_is_refused_in_japanese(staff_client, db):
    settings_id, form = _operator_form(db)
    response = _post(staff_client, settings_id, form, ("logo.gif", _image("GIF")))
    assert "ロゴの画像は PNG か JPEG にしてください（選んだ画像は GIF）。" in text(response)
    response = _post(staff_client, settings_id, form, ("logo.png", b"not an image"))
    assert "ロゴの画像を読み取れません。PNG か JPEG の画像を選んでください。" in text(response)
    db.session.expire_all()
    assert db.session.get(OperatorSettings, settings_id).logo_image is None


def test_an_unknown_date_style_is_refused(staff_client, db):
    settings_id, form = _operator_form(db, date_style="koki")
    response = _post(staff_client, settings_id, form)
    assert re.search("帳票の日付は西暦か和暦を選んでください。", text(response))
    db.session.expire_all()
    assert db.session.get(OperatorSettings, settings_id).date_style == "seireki"
