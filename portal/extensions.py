"""Unbound extension objects; bound to an app by ``create_app``.

This module imports nothing from the portal so that every other module can import it.
"""

from flask import current_app
from flask.logging import default_handler
from flask_babel import Babel
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
compress = Compress()
babel = Babel()
cache = Cache()  # the page cache's store (portal.pagecache)
login_manager = LoginManager()
csrf = CSRFProtect()
# portal://: each app counts in the storage its RATELIMIT_STORAGE_URI names (portal.ratelimit);
# a URI given here wins over every app's config, so one app cannot switch another's storage.
limiter = Limiter(key_func=get_remote_address, storage_uri="portal://")
# Errors the limiter swallows (RATELIMIT_SWALLOW_ERRORS) go to its own logger, which has only a
# NullHandler: send them where the app's own log goes, or they are never seen.
limiter.logger.addHandler(default_handler)


def limits_off() -> bool:
    """Per-client limits are switched per app (PORTAL_RATELIMIT=off), not per process:
    the limiter object is shared by every app a process makes."""
    return not current_app.config.get("LIMITS_ON", True)


def failed_lookup(response) -> bool:
    """Only a failed lookup counts against a client guessing ticket codes."""
    return response.status_code == 404
