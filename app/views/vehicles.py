from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import BooleanField, SelectField, StringField

from app.domain.plate import make_plate
from app.domain.text import to_half_width_digits
from app.domain.vehicle_class import VEHICLE_CLASSES
from app.labels import with_member
from app.models import Vehicle

from .base import TollbookModelView
from .validators import Normalize, Required, field_value


def _check_plate(value, form):
    """Validate the four parts together on the last one, so the message names the wrong part."""
    plate = make_plate(field_value(form, "plate_region"), field_value(form, "plate_class_number"),
                       field_value(form, "plate_kana"), value)
    return plate.serial


class VehicleView(TollbookModelView):
    datamodel = SQLAInterface(Vehicle)
    list_title = "車両一覧"
    show_title = "車両の詳細"
    add_title = "車両の登録"
    edit_title = "車両の編集"
    export_title = "車両一覧"
    label_columns = {
        "member": with_member("{m}"), "plate_text": "車両番号", "plate_region": "地名",
        "plate_class_number": "分類番号", "plate_kana": "ひらがな", "plate_serial": "一連番号",
        "vehicle_class": "車種区分", "vehicle_class_name": "車種", "is_etc2": "ETC2.0", "is_commercial": "事業用",
        "note": "備考", "cards": "カード",
    }
    list_columns = ["plate_text", "member", "vehicle_class_name", "is_etc2", "is_commercial"]
    search_columns = ["member", "plate_region", "plate_class_number", "plate_kana", "plate_serial",
                      "vehicle_class", "is_etc2", "is_commercial"]
    show_columns = ["plate_text", "member", "vehicle_class_name", "is_etc2", "is_commercial", "note"]
    add_columns = edit_columns = ["member", "plate_region", "plate_class_number", "plate_kana", "plate_serial",
                                  "vehicle_class", "is_etc2", "is_commercial", "note"]
    export_columns = ["member.code", "member.name", "plate_text", "plate_region", "plate_class_number",
                      "plate_kana", "plate_serial", "vehicle_class", "vehicle_class_name", "is_etc2",
                      "is_commercial", "note"]
    description_columns = {"plate_serial": "例: 12-34 は 1234、・・12 は 12",
                           "is_commercial": "緑ナンバー・黒ナンバー（事業用）の車両"}
    validators_columns = {
        "member": [Required()], "plate_region": [Required()], "plate_class_number": [Required()],
        "plate_kana": [Required()],  # plate_serial: validators on the field below
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "vehicle_class": SelectField("車種", choices=[(k, f"{k} {v}") for k, v in VEHICLE_CLASSES.items()],
                                     coerce=int),
        # FAB ignores validators_columns for a field given here, so the plate check is attached to the field.
        "plate_serial": StringField("一連番号", validators=[Required(), Normalize(_check_plate)],
                                    description=description_columns["plate_serial"]),
        # FAB makes a NOT NULL boolean column a required checkbox, so an unticked box could never be saved.
        "is_etc2": BooleanField("ETC2.0", default=False),
        "is_commercial": BooleanField("事業用", default=False, description=description_columns["is_commercial"]),
    }
    base_order = ("plate_region", "asc")
    duplicate_message = "この車両番号（地名・分類番号・ひらがな・一連番号）の車両は既に登録されています。何も保存していません。"

    def pre_add(self, item):
        item.plate_class_number = to_half_width_digits(item.plate_class_number).upper()

    pre_update = pre_add

