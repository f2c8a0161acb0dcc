"""First run and upgrades: schema, roles, permissions, operator row, shipped profiles, tariff and IC
master, admin user."""
import secrets

from flask import current_app
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_migrate import upgrade

from app.extensions import appbuilder, db
from app.models import OperatorSettings, SystemSetting
from app.security.roles import ROLE_ADMIN
from app.security.secret_key import PRODUCTION, is_production

from .collection_profiles import ensure_default_profile as ensure_default_collection_profile
from .ic_master import ensure_shipped_ic_master
from .profiles import ensure_shipped_profiles
from .scheduled_jobs import ensure_scheduled_jobs
from .tariff import ensure_default_tariff


def migrate_database() -> None:
    upgrade(directory=current_app.extensions["migrate"].directory)


def sync_roles_and_permissions() -> None:
    """Roles from app/security/roles.py, and every view's permissions for the admin role."""
    BaseSecurityManager.create_db(appbuilder.sm)
    appbuilder.add_permissions(update_perms=True)
    db.session.commit()


def ensure_operator(name: str = "（運営者名を設定してください）") -> OperatorSettings:
    settings = db.session.query(OperatorSettings).first()
    if settings is None:
        settings = OperatorSettings(name=name, operator_type="cooperative")
        db.session.add(settings)
        db.session.commit()
    return settings


def ensure_admin(password: str | None, username: str = "admin") -> tuple[str, str | None]:
    """Create the admin user once. Returns (username, password if it was generated or set now)."""
    sm = appbuilder.sm
    user = sm.find_user(username=username)
    if user is not None:
        if password:
            sm.reset_password(user.id, password)
            return username, password
        return username, None
    password = password or secrets.token_urlsafe(12)
    created = sm.add_user(username=username, first_name="管理者", last_name="", email=f"{username}@tollbook.invalid",
                          role=sm.find_role(ROLE_ADMIN), password=password)
    if not created:
        raise RuntimeError("管理者ユーザーを作成できませんでした。")
    return username, password


def mark_production() -> None:
    """Record in the database itself that it is a production one (never demo data again)."""
    setting = db.session.get(SystemSetting, "environment")
    if setting is None:
        db.session.add(SystemSetting(key="environment", value=PRODUCTION))
    else:
        setting.value = PRODUCTION
    db.session.commit()


def is_production_database() -> bool:
    setting = db.session.get(SystemSetting, "environment")
    return setting is not None and setting.value == PRODUCTION


def initialize(admin_password: str | None = None) -> tuple[str, str | None, int]:
    """(admin username, its password if generated or set now, ICs loaded from the shipped IC master)."""
    migrate_database()
    if is_production():
        mark_production()
    sync_roles_and_permissions()
    ensure_operator()
    ensure_default_collection_profile()
    ensure_shipped_profiles()
    ensure_default_tariff()
    ensure_scheduled_jobs()
    ics_loaded = ensure_shipped_ic_master()
    return (*ensure_admin(admin_password), ics_loaded)
