"""Import profiles shipped with Tollbook (app/importers/profiles/*.yaml), loaded into the table.

Shipped profiles are created when missing and never overwritten: staff may have adjusted them.
"""
from pathlib import Path

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models.usage import ImportProfile

from .unit_of_work import transactional

SHIPPED = Path(__file__).resolve().parent.parent / "importers" / "profiles"
PROFILE_FIELDS = ("label", "file_type", "encoding", "header_rows", "columns", "header_aliases", "date_format",
                  "time_format", "discount_sign", "vehicle_class_codes", "road_operator", "peak_time_remark",
                  "layout_verified", "note")


def shipped_profiles() -> list[dict]:
    return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED.glob("*.yaml"))]


def ensure_shipped_profiles() -> int:
    created = 0
    for spec in shipped_profiles():
        if db.session.scalar(select(ImportProfile.id).where(ImportProfile.name == spec["name"])) is None:
            db.session.add(ImportProfile(name=spec["name"], **{k: spec.get(k) for k in PROFILE_FIELDS if k in spec}))
            created += 1
    db.session.commit()
    return created


def copy_name(name: str) -> str:
    """'etc-meisai' → 'etc-meisai-copy' (then -copy2, -copy3, … while taken)."""
    taken = set(db.session.scalars(select(ImportProfile.name)))
    base = f"{name[:35]}-copy"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate


@transactional
def copy_profiles(profiles: list[ImportProfile]) -> list[ImportProfile]:
    """取込形式をコピー: one clone per profile, 'name-copy' with the same settings, label （コピー）."""
    clones = []
    for item in profiles:
        clone = ImportProfile(name=copy_name(item.name), **{f: getattr(item, f) for f in PROFILE_FIELDS})
        clone.label = f"{item.label}（コピー）"[:100]
        db.session.add(clone)
        db.session.flush()
        clones.append(clone)
    return clones
