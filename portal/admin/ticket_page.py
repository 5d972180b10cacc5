"""The staff ticket page is made of panels (templates/admin/ticket/_*.html); each panel's
context comes from one function registered here by the module that owns that part of the
workflow, so the page view stays a loop and each part lives with its rules."""

from collections.abc import Callable
from importlib import import_module

# Modules whose import registers panels, in page order.
PANEL_MODULES = (
    "portal.admin.panels.submission",
    "portal.admin.panels.deadlines",
    "portal.admin.panels.owners",
    "portal.admin.panels.replies",
    "portal.admin.panels.routing",
    "portal.admin.panels.projects",
)
_PANELS: list[Callable] = []


def panel(fn: Callable) -> Callable:
    """Register ``fn(record, user) -> dict`` as a source of the ticket page's context."""
    _PANELS.append(fn)
    return fn


def context(record, user) -> dict:
    for name in PANEL_MODULES:
        try:
            import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    values: dict = {}
    for fn in _PANELS:
        values.update(fn(record, user))
    return values
