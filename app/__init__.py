"""create_app(): database, AppBuilder (Japanese), migrations, views, CLI, and in the serving process the scheduler."""
from pathlib import Path

from flask import Flask

from .extensions import appbuilder, csrf, db, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_overrides: dict | None = None) -> Flask:
    import config

    app = Flask(__name__, instance_path=str(config.INSTANCE_DIR))
    app.config.from_object(config)
    if config_overrides:
        app.config.update(config_overrides)
    from .security.setup import init_security

    init_security(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # FAB puts its own ja_JP catalog first and merges ours over it, so ours completes and corrects
    # FAB's stale one (stack-notes.md §2). Absolute, because Flask-Babel resolves from app/.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")

    from . import models  # noqa: F401  (registers every table with the metadata Alembic reads)
    from .services.audit import install_audit_listeners

    with app.app_context():
        db.init_app(app)
        from .sqlite_settings import configure_sqlite

        configure_sqlite(db.engine)
        from .security.sessions import DatabaseSessionInterface

        app.session_interface = DatabaseSessionInterface(app, db.engine)
        csrf.init_app(app)
        migrate.init_app(app, db, directory=str(ROOT / "migrations"))
        appbuilder.init_app(app, db.session)
        from .views.menu import register_views

        register_views(appbuilder)
        from .views.return_to import back_url

        app.jinja_env.globals["back_url"] = back_url
        from .views.errors import register_error_pages

        register_error_pages(app)
        from .views.base import refuse_unknown_actions, remove_file_downloads

        remove_file_downloads(app)
        refuse_unknown_actions(app)
        from .security.setup import install_request_guards

        install_request_guards(app)
        from .views.portal import install_member_guard

        install_member_guard(app)
    install_audit_listeners()
    from .observability import configure_logging, install_request_ids, register_health

    if app.config.get("LOG_FORMAT"):  # set by make serve (json); tests keep pytest's log capture
        configure_logging(app)
    install_request_ids(app)
    register_health(app)

    from .cli import etc

    app.cli.add_command(etc)
    from .jobs.scheduler import should_start, start_scheduler

    if should_start(app):
        start_scheduler(app)
    return app
