"""The ticket page's "submission" panel: everything the investor sent, grouped as the form
was and labelled in the staff member's language, less what this staff member may not see
(``portal.cases.confidential``). Contact details stay masked until the staff member asks for
them; each reveal is a read of personal data and leaves an audit event."""

from dataclasses import dataclass, field

from flask import request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.admin.ticket_page import panel
from portal.cases import confidential, repeats
from portal.content.workflow import EDITORS
from portal.extensions import db
from portal.i18n import format_number
from portal.intake.forms import ComplaintForm, DemandForm
from portal.labels import LABELS
from portal.models import Complaint, Region

# Fields whose form label says "(optional)", which means nothing to staff.
STAFF_LABELS = {
    "contact_email": _l("电子邮箱"),
    "preferred_regions": _l("意向区域"),
    "talent": _l("人才需求"),
    "financing": _l("融资需求"),
    "desired_outcome": _l("诉求"),
    "trade_secret_note": _l("涉及商业秘密的内容"),
}
NEEDS = ("land_mu", "building_m2", "power_kva", "water_t_day")


@dataclass
class Item:
    label: str
    value: str = ""
    href: str = ""
    links: list = field(default_factory=list)  # further (text, href) pairs after the value
    long: bool = False  # free text, shown with its line breaks
    withheld: str = ""  # why the value is not shown
    reveal: bool = False  # masked until the staff member asks (and the reveal is audited)


@dataclass
class Group:
    title: str
    items: list[Item] = field(default_factory=list)

    def add(self, label, value, **kw) -> None:
        """Only what the investor filled in: an empty answer is not a fact."""
        if value not in (None, "", []) or kw.get("withheld") or kw.get("reveal"):
            self.items.append(Item(str(label), str(value) if value is not None else "", **kw))


def label(form, name: str) -> str:
    if name in STAFF_LABELS:
        return str(STAFF_LABELS[name])
    unbound = getattr(form, name)
    return str(unbound.kwargs.get("label") or unbound.args[0])


def _region_name(region) -> str:
    return region.tr("name") if region is not None else ""


def _contacts(record, hidden: frozenset, reveal: bool) -> Group:
    form = ComplaintForm if isinstance(record, Complaint) else DemandForm
    group = Group(_("联系人"))
    if confidential.IDENTITY in hidden:
        group.add(label(form, "contact_name"), "",
                  withheld=_("投诉人要求不向被投诉方透露身份"))
    elif reveal:
        group.add(label(form, "contact_name"), record.contact_name)
        group.add(label(form, "contact_phone"), record.contact_phone)
        group.add(label(form, "contact_email"), record.contact_email)
    else:
        group.add(_("联系方式"), "", reveal=True)
    return group


def _demand_groups(record) -> list[Group]:
    f = DemandForm
    company = Group(_("投资主体与企业"))
    company.add(label(f, "investor_type"),
                LABELS["investor_type"].get(record.investor_type, record.investor_type))
    company.add(label(f, "company_name"), record.company_name)
    company.add(label(f, "credit_code"), record.credit_code)
    company.add(label(f, "country"), record.country)
    company.add(label(f, "registration_number"), record.registration_number)

    project = Group(_("项目"))
    project.add(label(f, "industry"), record.industry.tr("name") if record.industry else "")
    if record.amount_wan is not None:
        project.add(label(f, "amount_wan"), _(
            "%(amount)s 万元（%(currency)s）", amount=format_number(record.amount_wan),
            currency=LABELS["currency"].get(record.currency, record.currency)))
    project.add(label(f, "timeline"), LABELS["timeline"].get(record.timeline, record.timeline))

    needs = Group(_("要素需求"))
    values = record.needs or {}
    for name in NEEDS:
        if values.get(name) is not None:
            needs.add(label(f, name), format_number(values[name]))
    needs.add(label(f, "talent"), values.get("talent", ""), long=True)
    needs.add(label(f, "financing"), values.get("financing", ""), long=True)

    origin = Group(_("意向与来源"))
    slugs = list(record.preferred_regions or [])
    if slugs:
        by_slug = {r.slug: r for r in db.session.scalars(
            db.select(Region).where(Region.slug.in_(slugs)))}
        origin.add(label(f, "preferred_regions"), "、".join(
            _region_name(by_slug[s]) if s in by_slug else s for s in slugs))
    origin.add(label(f, "message"), record.message, long=True)
    return [company, project, needs, origin]


def _subject_group(record, user) -> Group:
    """The site or opportunity the investor expressed interest in: its name linked to the
    public page, its kind and region, and the back-office editor where this staff member
    may edit it (``portal.scoping``)."""
    from portal.scoping import scoped

    group = Group(_("意向对象"))
    for row, title, public, editor, kinds in (
            (record.site, "name", ("sites.detail", "site_id"),
             ("content.sites_edit", "site_id"), LABELS["site_kind"]),
            (record.opportunity, "title", ("opportunities.detail", "item_id"),
             ("content.opportunities_edit", "opportunity_id"), LABELS["opportunity_kind"])):
        if row is None:
            continue
        links = []
        editable = user.role in EDITORS and db.session.scalar(scoped(
            user, type(row), db.select(type(row).id).where(type(row).id == row.id)))
        if editable:
            links.append((_("后台编辑"), url_for(editor[0], **{editor[1]: row.id})))
        shown = row.publication == "published"
        group.add(_("载体") if title == "name" else _("机会"), row.tr(title),
                  href=url_for(public[0], **{public[1]: row.id}) if shown else "",
                  links=links)
        group.add(_("类型"), kinds.get(row.kind, row.kind))
        group.add(_("区域"), _region_name(row.region))
        if not shown:
            group.add(_("公开状态"), _("未公开（草稿、审核中或已下架）"))
    return group


def _complaint_groups(record, hidden: frozenset) -> list[Group]:
    f = ComplaintForm
    complainant = Group(_("投诉人"))
    complainant.add(label(f, "category"),
                    LABELS["complaint_category"].get(record.category, record.category))
    if confidential.IDENTITY in hidden:
        complainant.add(label(f, "company_name"), "",
                        withheld=_("投诉人要求不向被投诉方透露身份"))
    else:
        complainant.add(label(f, "company_name"), record.company_name)

    respondent = Group(_("被投诉方"))
    respondent.add(label(f, "respondent_name"), record.respondent_name)
    respondent.add(label(f, "respondent_region"), _region_name(record.respondent_region))

    facts = Group(_("投诉内容"))
    facts.add(label(f, "facts"), record.facts, long=True)
    facts.add(label(f, "desired_outcome"), record.desired_outcome, long=True)
    if record.withhold_identity and confidential.IDENTITY not in hidden:
        facts.add(label(f, "withhold_identity"), _("是（不向被投诉方显示）"))
    if confidential.TRADE_SECRET in hidden:
        if record.trade_secret_note:
            facts.add(label(f, "trade_secret_note"), "",
                      withheld=_("涉及商业秘密，不向被投诉方显示"))
    else:
        facts.add(label(f, "trade_secret_note"), record.trade_secret_note, long=True)
    return [complainant, respondent, facts]


@panel
def submission_panel(record, user) -> dict:
    """``?contacts=1`` on a GET reveals the contact details, and audits it."""
    hidden = confidential.hidden_parts(user, record)
    identity = confidential.IDENTITY not in hidden
    reveal = identity and request.method == "GET" and request.args.get("contacts") == "1"
    if reveal:
        audit.record("reveal_contacts", type(record).__tablename__, record.ticket)
    groups = _complaint_groups(record, hidden) if isinstance(record, Complaint) \
        else _demand_groups(record)
    groups.insert(1, _contacts(record, hidden, reveal))
    if not isinstance(record, Complaint):
        groups.insert(0, _subject_group(record, user))
    files_hidden = confidential.ATTACHMENTS in hidden and any(
        a.event_id is None for a in record.attachments)
    return {"submission": [g for g in groups if g.items],
            "submitted_files": confidential.shown_attachments(user, record),
            "files_withheld": files_hidden,
            "identity": identity, "reveal": reveal,
            "repeat_links": repeats.links(user, record)}
