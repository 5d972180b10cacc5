"""The service chain as visitors read it: the deployment's services grouped by category, each
with its related policy and the portal's own page for it, resolved at request time so a
renamed page or an unpublished policy never leaves a dead link."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from portal.extensions import db
from portal.i18n import current_lang
from portal.models import SERVICE_CATEGORIES, Policy, ServiceLink


@dataclass
class Entry:
    link: ServiceLink
    policy: Policy | None = None
    portal_url: str | None = None


@dataclass
class Category:
    code: str
    entries: list[Entry] = field(default_factory=list)


def portal_page(path: str, lang: str | None = None) -> str | None:
    """``path`` (``/complaints/new``, ``/policies/?topic=talent``) under the language prefix
    when it names one of the portal's public GET pages, else None. Only paths: a scheme, a
    host, a fragment or a control character is refused, so the value can never lead off the
    portal."""
    if not path or not path.startswith("/") or path.startswith("//") or any(
            ord(c) < 33 or c in "\\\x7f" for c in path):
        return None
    try:
        parts = urlsplit(path)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    lang = lang or current_lang()
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(f"/{lang}{parts.path}", method="GET")
    except (RequestRedirect, HTTPException):
        return None
    return f"/{lang}{path}"


def categories() -> list[Category]:
    """Every category that has services, in the order of ``SERVICE_CATEGORIES``; the links
    in the order staff set."""
    links = db.session.scalars(db.select(ServiceLink).order_by(
        ServiceLink.sort_order, ServiceLink.id)).all()
    keys = {link.policy_key for link in links if link.policy_key}
    # On a public page only live policies load (portal.content.workflow).
    policies = {p.key: p for p in db.session.scalars(
        db.select(Policy).where(Policy.key.in_(keys)))} if keys else {}
    groups = {code: Category(code) for code in SERVICE_CATEGORIES}
    for link in links:
        groups[link.category].entries.append(Entry(
            link, policies.get(link.policy_key),
            portal_page(link.portal_path) if link.portal_path else None))
    return [group for group in groups.values() if group.entries]


def shown_address(url: str) -> str:
    """What a link reads as: the number of a ``tel:`` link, the host of a web address."""
    if url.startswith("tel:"):
        return url[4:]
    return urlsplit(url).hostname or url
