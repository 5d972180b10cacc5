"""The queue's filters, read from the query string and checked, with choices limited to
what the staff member may see."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from portal.extensions import db
from portal.labels import LABELS
from portal.models import COMPLAINT_CATEGORIES, Region, User

from . import services

FILTERS = ("q", "owner", "region", "status", "category", "deadline")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class QueueFilterForm(FlaskForm):
    """GET filters, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(_l("搜索"), filters=[_strip],
                    description=_l("工单编号、企业名称、统一社会信用代码或内容中的文字"),
                    render_kw={"type": "search", "autocomplete": "off"},
                    validators=[Optional(), Length(max=100, message=_l(
                        "搜索内容不能超过 %(max)d 个字"))])
    owner = SelectField(_l("负责人"), default="",
                        invalid_choice_message=_l("从列表中选择负责人，或选择“全部”"))
    region = SelectField(_l("区域"), default="",
                         invalid_choice_message=_l("从列表中选择区域，或选择“全部”"))
    status = SelectField(_l("状态"), default="",
                         invalid_choice_message=_l("从列表中选择状态，或选择“全部”"))
    category = SelectField(_l("投诉类别"), default="",
                           invalid_choice_message=_l("从列表中选择投诉类别，或选择“全部”"))
    deadline = SelectField(_l("期限"), default="",
                           invalid_choice_message=_l("从列表中选择期限情况，或选择“全部”"))

    @classmethod
    def for_queue(cls, user: User, kind: str, args) -> "QueueFilterForm":
        form = cls(formdata=args or None)
        everyone = SelectChoice("", _("全部"))
        form.owner.choices = [everyone, SelectChoice("me", _("我的工单")),
                              SelectChoice("none", _("尚未认领"))] + [
            SelectChoice(str(u.id), u.name or u.email) for u in _people(user)]
        form.region.choices = [everyone] + [SelectChoice(r.slug, r.tr("name"))
                                            for r in _regions(user)]
        form.status.choices = [everyone, SelectChoice(services.OPEN, _("未办结"))] + [
            SelectChoice(code, label) for code, label in LABELS[f"{kind}_status"].items()]
        form.category.choices = [everyone] + [
            SelectChoice(code, LABELS["complaint_category"][code])
            for code in COMPLAINT_CATEGORIES]
        form.deadline.choices = [everyone, SelectChoice("overdue", _("已超期")),
                                 SelectChoice("due_soon", _("即将到期（2 个工作日内）"))]
        if kind != "complaint":
            del form.category
        return form

    def filters(self) -> services.QueueFilters:
        return services.QueueFilters(**{name: self[name].data or "" for name in FILTERS
                                        if name in self})


def _regions(user: User) -> list[Region]:
    """The regions a filter may name: the staff member's own and those below it for county
    and zone staff, every region for the others (their scope is not regional)."""
    stmt = db.select(Region).order_by(Region.sort_order, Region.id)
    if user.role == "region" and user.region is not None:
        from portal.sites.services import region_ids

        stmt = stmt.where(Region.id.in_(region_ids(user.region.slug)))
    return list(db.session.scalars(stmt))


def _people(user: User) -> list[User]:
    """Staff who can own tickets this user sees: the bureau and region staff, or, for
    county and zone staff, their own colleagues."""
    stmt = db.select(User).where(User.active.is_(True))
    if user.role == "region" and user.region is not None:
        from portal.sites.services import region_ids

        stmt = stmt.where(User.role == "region",
                          User.region_id.in_(region_ids(user.region.slug)))
    elif user.role in ("admin", "bureau"):
        stmt = stmt.where(User.role.in_(("bureau", "region")))
    else:
        return []
    return list(db.session.scalars(stmt.order_by(User.name, User.email)))


def read(user: User, kind: str, args) -> tuple[QueueFilterForm, bool]:
    """The bound form and whether its filters may be used (no filters at all is valid; the
    legacy ``overdue=1`` reads as the overdue filter)."""
    if args.get("overdue") == "1" and "deadline" not in args:
        args = args.copy()
        args["deadline"] = "overdue"
    form = QueueFilterForm.for_queue(user, kind, args)
    used = any(name in args for name in FILTERS)
    return form, (not used or form.validate())
