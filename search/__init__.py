"""Search engines behind one interface (``search.base.SearchEngine``)."""

from flask import Flask, current_app

from .base import Document, Hits, Query, SearchEngine, SearchUnavailable

__all__ = ["Document", "Hits", "Query", "SearchEngine", "SearchUnavailable", "engine",
           "make_engine"]


ENGINES = ("embedded", "postgres")


def make_engine(config) -> SearchEngine:
    """Elasticsearch when a URL is set; otherwise ``SEARCH_ENGINE``: the embedded engine (the
    default) or the postgres engine on the portal's own database."""
    if config.get("SEARCH_URL"):
        from .elastic import ElasticEngine

        return ElasticEngine(config["SEARCH_URL"], prefix=config.get("SEARCH_PREFIX") or "portal",
                             analyzer=config.get("SEARCH_ANALYZER") or None)
    choice = config.get("SEARCH_ENGINE") or "embedded"
    if choice not in ENGINES:
        raise ValueError(f"PORTAL_SEARCH={choice!r}: use one of {', '.join(ENGINES)}")
    if choice == "postgres":
        from .postgres import PostgresEngine

        return PostgresEngine(config["SQLALCHEMY_DATABASE_URI"])
    from .embedded import EmbeddedEngine

    return EmbeddedEngine(config["SEARCH_INDEX_DIR"])


def engine(app: Flask | None = None) -> SearchEngine:
    """The app's engine, created on first use (never at import or factory time)."""
    app = app or current_app
    if "search" not in app.extensions:
        app.extensions["search"] = make_engine(app.config)
    return app.extensions["search"]
