"""Import profiles shipped with Tollbook (app/importers/profiles/*.yaml), loaded into the table.

Shipped profiles are created when missing and never overwritten: staff may have adjusted them.
"""
from pathlib import Path

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models.usage import ImportProfile

SHIPPED = Path(__file__).resolve().parent.parent / "importers" / "profiles"
_FIELDS = ("label", "file_type", "encoding", "header_rows", "columns", "date_format", "time_format", "discount_sign",
           "vehicle_class_codes", "road_operator", "layout_verified", "note")


def shipped_profiles() -> list[dict]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED.glob("*.yaml"))]


def ensure_shipped_profiles() -> int:
    created = 0
    for spec in shipped_profiles():
        if db.session.scalar(select(ImportProfile.id).where(ImportProfile.name == spec["name"])) is None:
            db.session.add(ImportProfile(name=spec["name"], **{k: spec.get(k) for k in _FIELDS if k in spec}))
            created += 1
    db.session.commit()
    return created
