"""What a demand is about: the site or opportunity an investor expressed interest in.

The demand form is opened from a site's or an opportunity's page (``?site=ID`` or
``?opportunity=ID``); the form shows the record at its top, and the investor can take it off.
Lookups run through the ORM, so on public pages and the API only live records are found
(``portal.content.workflow``): a draft, an archived record or an unknown id is "not found",
never a 500 and never a record the public may not see.
"""

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import Opportunity, Site

MAX_ID = 2**31 - 1
# form field → (model, the record's title field, its detail endpoint and id argument)
KINDS = {
    "site": (Site, "name", "sites.detail", "site_id"),
    "opportunity": (Opportunity, "title", "opportunities.detail", "item_id"),
}
@dataclass
class Subject:
    field: str  # "site" or "opportunity", the form field that carries its id
    record: Site | Opportunity

    @property
    def title_field(self) -> str:
        return KINDS[self.field][1]

    @property
    def url(self) -> str:
        _model, _title, endpoint, arg = KINDS[self.field]
        return url_for(endpoint, **{arg: self.record.id})


def parse_id(text: str | None) -> int | None:
    """A positive 4-byte id from a query string value, else None."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def find(field: str, record_id: int | None):
    if record_id is None or not 0 < record_id <= MAX_ID:
        return None
    model = KINDS[field][0]
    return db.session.scalar(db.select(model).filter_by(id=record_id))


def not_found(field: str, record_id: int | None) -> str:
    """Why the form is not about the record the link named, and that it still works."""
    if field == "site":
        return _("没有找到编号为 %(id)s 的载体，它可能已下架或链接有误。您仍可提交一般投资需求。",
                 id=record_id) if record_id else _("链接中的载体编号无效。您仍可提交一般投资需求。")
    return _("没有找到编号为 %(id)s 的机会，它可能已撤下或链接有误。您仍可提交一般投资需求。",
             id=record_id) if record_id else _("链接中的机会编号无效。您仍可提交一般投资需求。")


def from_query(args) -> tuple[dict[str, int], list[str]]:
    """The ids ``?site=`` and ``?opportunity=`` name that resolve, and a message for each
    one that does not (in the page's language)."""
    found, missing = {}, []
    for field in KINDS:
        raw = args.get(field)
        if raw is None or not raw.strip():
            continue
        record_id = parse_id(raw)
        record = find(field, record_id)
        if record is None:
            missing.append(not_found(field, record_id))
        else:
            found[field] = record.id
    return found, missing


def of_form(form) -> list[Subject]:
    """The subjects the form's hidden fields name and that still resolve."""
    subjects = []
    for field in KINDS:
        record = find(field, form[field].data)
        if record is not None:
            subjects.append(Subject(field, record))
    return subjects
