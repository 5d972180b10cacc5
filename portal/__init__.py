"""永不落幕的招商专区 — the Flask application factory."""

from flask import Flask

from portal import config as settings
from portal.extensions import compress, csrf, db, limiter, login_manager, migrate

__version__ = "0.1.0"

BLUEPRINTS = (
    "portal.showcase.views",
    "portal.policies.views",
    "portal.alerts.views",
    "portal.sites.views",
    "portal.opportunities.views",
    "portal.intake.views",
    "portal.tracking.views",
    "portal.services_chain.views",
    "portal.sitesearch.views",
    "portal.glossary.views",
    "portal.admin.views",
    "portal.admin.audit",
    "portal.admin.users",
    "portal.admin.transfers",
    "portal.admin.routing",
    "portal.admin.owners",
    "portal.admin.deadlines",
    "portal.admin.replies",
    "portal.admin.projects",
    "portal.admin.stats",
    "portal.admin.content",
    "portal.admin.reference",
    "portal.admin.imports",
    "portal.admin.apikeys",
    "portal.api.views",
    "portal.exchange.views",
    "portal.meta.views",
    "portal.preferences",
)


def create_app(config: dict | None = None) -> Flask:
    """Build the app; ``config`` overrides what the environment says (tests pass a dict)."""
    app = Flask(
        __name__,
        instance_path=str(settings.instance_dir()),
        template_folder=str(settings.ROOT / "templates"),
        static_folder=str(settings.ROOT / "static"),
    )
    register_config(app, config)
    register_extensions(app)
    register_cache(app)
    register_i18n(app)
    register_requests(app)
    register_security(app)
    register_search(app)
    register_content(app)
    register_assets(app)
    register_maps(app)
    register_blueprints(app)
    register_errors(app)
    register_commands(app)
    return app


def register_config(app: Flask, config: dict | None) -> None:
    app.config.update(settings.DEFAULTS)
    app.config.update(settings.from_env())
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        from portal.security import instance_secret_key

        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
        if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
            # A server database may have several nodes; each would generate its own key and
            # refuse the others' sessions and CSRF tokens.
            app.logger.warning(
                "PORTAL_SECRET_KEY is not set: this node signs sessions with the key generated "
                "in %s/secret_key, which suits a single node only. Every node of one "
                "deployment must share one PORTAL_SECRET_KEY.", app.instance_path)


def register_extensions(app: Flask) -> None:
    from portal import database, ratelimit  # noqa: F401  (ratelimit: the portal:// storage)
    from portal.models import User  # noqa: F401  (tables known to Alembic)

    database.register()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "portal" / "migrations"))
    csrf.init_app(app)
    compress.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)


def register_cache(app: Flask) -> None:
    """Anonymous pages from a cache keyed by the public version (before the proxy fix,
    which then wraps it, so the cache sees the visitor's scheme and host)."""
    from portal import pagecache, province
    from portal.content import public

    public.register()
    pagecache.init_app(app)
    province.init_app(app)  # city entries (/<city>/…, hosts) in front of the page cache


def register_i18n(app: Flask) -> None:
    from portal import i18n

    i18n.init_app(app)


def register_requests(app: Flask) -> None:
    from portal import requests

    requests.init_app(app)


def register_security(app: Flask) -> None:
    """Trusted proxies, cookie flags, staff sessions that end, and security headers."""
    from portal import headers, sessions

    sessions.init_app(app)
    headers.init_app(app)


def register_search(app: Flask) -> None:
    """Index changes travel through the outbox; the engine itself is made on first use."""
    from portal import indexing

    indexing.register()
    app.after_request(indexing.catch_up)


def register_content(app: Flask) -> None:
    """Public pages see live records only; the clock publishes, expires and closes."""
    from portal.alerts import services as alerts
    from portal.content import schedule, workflow

    workflow.register(app)
    alerts.register()  # a policy going live is announced to its subscribers
    app.after_request(schedule.tick)


def register_assets(app: Flask) -> None:
    """Static files under content-hashed URLs, cached for a year, sent compressed."""
    from portal import assets

    assets.init_app(app)


def register_maps(app: Flask) -> None:
    """folium's scripts and styles come from static/vendor, never from a CDN."""
    from portal.sites.offline import use_local_assets

    use_local_assets(app.static_url_path)


def register_blueprints(app: Flask) -> None:
    from importlib import import_module

    for module in BLUEPRINTS:
        app.register_blueprint(import_module(module).bp)


def register_errors(app: Flask) -> None:
    from portal import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from portal.commands import register

    register(app)
