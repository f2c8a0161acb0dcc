"""Extension objects, created once and bound to the app in create_app()."""
from flask_appbuilder import AppBuilder
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = get_sqla_class()()
appbuilder = AppBuilder()
migrate = Migrate()
# Every POST needs the form's token, our own screens (uploads) included; FAB exempts its token-auth API.
csrf = CSRFProtect()
