"""The demand and complaint forms (GOV.UK conventions: messages say what to do, hints in
``description``, the visitor's input kept). The JSON API validates with the same forms."""

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms import widgets as w
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.extensions import db
from portal.fields import (
    DecimalField,
    IntegerField,
    MultiCheckboxField,
    RadioField,
    SelectField,
    industry_choices,
    region_choices,
)
from portal.labels import LABELS
from portal.models import Industry, Opportunity, Region, Site

from .validators import (
    Amount,
    CreditCode,
    NoControlChars,
    Phone,
    normalise_credit_code,
    normalise_phone,
)

TEXT = [NoControlChars()]
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,80}$"  # an idempotency key: printable, short


def _choices(name: str) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in LABELS[name].items()]


BLANK = SelectChoice("", _l("请选择"))


class SubmissionForm(FlaskForm):
    """What demands and complaints share: contact, consent, honeypot, idempotency key."""

    contact_name = StringField(_l("联系人姓名"), validators=[
        DataRequired(_l("输入联系人姓名")), Length(max=80, message=_l("姓名不能超过 %(max)d 个字")),
        *TEXT])
    contact_phone = StringField(_l("联系电话"), description=_l(
        "手机或座机，如 13812345678、0352-1234567；境外号码以 + 和国家代码开头"),
        validators=[DataRequired(_l("输入联系电话")), Phone()])
    contact_email = EmailField(_l("电子邮箱（选填）"), description=_l(
        "填写后，我们会把编号和访问码发到这个邮箱"),
        validators=[Optional(), Email(_l("输入正确的电子邮箱，如 name@example.com")),
                    Length(max=254)])
    consent = BooleanField(_l("我已阅读并同意个人信息处理说明"), validators=[
        DataRequired(_l("请阅读个人信息处理说明，并勾选同意后提交"))])
    # Hidden from people; a bot that fills every field gives itself away.
    website = StringField(_l("请勿填写此项"), validators=[Optional()])
    idempotency_key = HiddenField(validators=[Optional(), Regexp(
        KEY_PATTERN, message=_l("页面已过期，请刷新后重新填写"))])
    attachments = MultipleFileField(_l("附件（选填）"), description=_l(
        "最多 5 个文件，每个不超过 10 MB，可上传 PDF、JPEG、PNG、DOCX、XLSX"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.idempotency_key.data:
            self.idempotency_key.data = secrets.token_urlsafe(16)

    def validate_contact_phone(self, field):
        field.data = normalise_phone(field.data) or field.data

    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def values(self, names: tuple[str, ...]) -> dict:
        return {name: self[name].data for name in names}


class DemandForm(SubmissionForm):
    investor_type = RadioField(_l("投资主体"), choices=_choices("investor_type"),
                               default="domestic",
                               validators=[InputRequired(_l("选择投资主体类型"))])
    company_name = StringField(_l("企业名称"), validators=[
        DataRequired(_l("输入企业名称")),
        Length(max=200, message=_l("企业名称不能超过 %(max)d 个字")), *TEXT])
    credit_code = StringField(_l("统一社会信用代码"), description=_l(
        "境内企业填写，18 位，见营业执照"))
    country = StringField(_l("注册国家或地区"), description=_l("境外及港澳台企业填写"),
                          validators=[Length(max=80), *TEXT])
    registration_number = StringField(_l("注册号"), description=_l(
        "境外及港澳台企业填写注册地的公司注册号"), validators=[Length(max=80), *TEXT])
    industry = SelectField(_l("所属产业"), validators=[Optional()])
    amount_wan = DecimalField(_l("计划投资额"), description=_l("单位：万元，如 5000"),
                              places=2, validators=[Optional(), Amount()])
    currency = SelectField(_l("币种"), choices=_choices("currency"), default="CNY")
    timeline = SelectField(_l("计划落地时间"), choices=[BLANK] + _choices("timeline"),
                           validators=[Optional()])
    land_mu = DecimalField(_l("用地需求（亩）"), places=2, validators=[
        Optional(), NumberRange(0, 1e6, _l("输入 0 以上的亩数"))])
    building_m2 = DecimalField(_l("厂房或办公面积需求（平方米）"), places=2, validators=[
        Optional(), NumberRange(0, 1e8, _l("输入 0 以上的面积"))])
    power_kva = DecimalField(_l("用电需求（kVA）"), places=2, validators=[
        Optional(), NumberRange(0, 1e7, _l("输入 0 以上的容量"))])
    water_t_day = DecimalField(_l("用水需求（吨/日）"), places=2, validators=[
        Optional(), NumberRange(0, 1e7, _l("输入 0 以上的用水量"))])
    talent = TextAreaField(_l("人才需求（选填）"),
                           validators=[Optional(), Length(max=1000), *TEXT])
    financing = TextAreaField(_l("融资需求（选填）"),
                              validators=[Optional(), Length(max=1000), *TEXT])
    preferred_regions = MultiCheckboxField(_l("意向区域（可多选）"), validators=[Optional()])
    # What the demand is about (portal.intake.subject); the API documents them by these.
    site = IntegerField(widget=w.HiddenInput(), validators=[Optional()], description=_l(
        "表达意向的载体编号（载体页面地址中的数字），须为已公开的载体；可不填"))
    opportunity = IntegerField(widget=w.HiddenInput(), validators=[Optional()], description=_l(
        "表达意向的机会编号（机会页面地址中的数字），须为已公开的机会；可不填"))
    message = TextAreaField(_l("项目简介与其他需求"), description=_l(
        "项目内容、产品、产能、希望得到的支持等，不超过 5000 字"),
        validators=[Optional(), Length(max=5000, message=_l("不能超过 %(max)d 个字")), *TEXT])

    @classmethod
    def from_database(cls, *args, **kwargs) -> "DemandForm":
        form = cls(*args, **kwargs)
        form.industry.choices = [BLANK] + industry_choices()
        form.preferred_regions.choices = region_choices(grouped=False)
        return form

    # Which company fields are required depends on the investor type, so these checks are
    # written out here rather than as Optional()/DataRequired() on the fields.
    def validate_credit_code(self, field):
        if self.investor_type.data != "domestic":
            return
        if not (field.data or "").strip():
            raise ValidationError(_l("境内企业请输入统一社会信用代码，18位"))
        CreditCode()(self, field)

    def validate_country(self, field):
        if self.investor_type.data in ("foreign", "hmt") and not (field.data or "").strip():
            raise ValidationError(_l("输入企业注册所在的国家或地区"))

    def validate_registration_number(self, field):
        if self.investor_type.data in ("foreign", "hmt") and not (field.data or "").strip():
            raise ValidationError(_l("输入企业在注册地的注册号"))

    def validate_site(self, field):
        if field.data is not None and (not 0 < field.data < 2**31 or db.session.scalar(
                db.select(Site.id).filter_by(id=field.data)) is None):
            raise ValidationError(_l("所选载体不存在或已不再公开，请移除后继续填写"))

    def validate_opportunity(self, field):
        if field.data is not None and (not 0 < field.data < 2**31 or db.session.scalar(
                db.select(Opportunity.id).filter_by(id=field.data)) is None):
            raise ValidationError(_l("所选机会不存在或已不再公开，请移除后继续填写"))

    def record_values(self) -> dict:
        """Column values for a Demand."""
        def number(value):
            return float(value) if value is not None else None

        industry = db.session.scalars(
            db.select(Industry).filter_by(slug=self.industry.data)).first() \
            if self.industry.data else None
        domestic = self.investor_type.data == "domestic"
        return {
            "investor_type": self.investor_type.data,
            "company_name": self.company_name.data.strip(),
            "credit_code": normalise_credit_code(self.credit_code.data or "") if domestic else "",
            "country": "" if domestic else (self.country.data or "").strip(),
            "registration_number": "" if domestic else (self.registration_number.data
                                                        or "").strip(),
            "contact_name": self.contact_name.data.strip(),
            "contact_phone": self.contact_phone.data,
            "contact_email": (self.contact_email.data or "").strip(),
            "industry": industry,
            "amount_wan": number(self.amount_wan.data),
            "currency": self.currency.data,
            "timeline": self.timeline.data or "",
            "needs": {k: v for k, v in {
                "land_mu": number(self.land_mu.data),
                "building_m2": number(self.building_m2.data),
                "power_kva": number(self.power_kva.data),
                "water_t_day": number(self.water_t_day.data),
                "talent": (self.talent.data or "").strip(),
                "financing": (self.financing.data or "").strip(),
            }.items() if v not in (None, "")},
            "preferred_regions": list(self.preferred_regions.data or []),
            "site_id": self.site.data,
            "opportunity_id": self.opportunity.data,
            "message": (self.message.data or "").strip(),
        }


class ComplaintForm(SubmissionForm):
    category = RadioField(_l("投诉类别"), choices=_choices("complaint_category"),
                          validators=[InputRequired(_l("选择投诉类别"))])
    company_name = StringField(_l("企业名称"), validators=[
        DataRequired(_l("输入企业名称")), Length(max=200), *TEXT])
    respondent_name = StringField(_l("被投诉的部门或单位"), description=_l(
        "如：某县行政审批服务管理局"), validators=[
        DataRequired(_l("输入被投诉的部门或单位名称")), Length(max=200), *TEXT])
    respondent_region = SelectField(_l("所在区域"), validators=[Optional()])
    facts = TextAreaField(_l("事实与理由"), description=_l(
        "发生了什么、时间、涉及的文件或人员，至少 20 字"), validators=[
        DataRequired(_l("写明投诉的事实与理由")),
        Length(min=20, max=10000, message=_l("事实与理由需写 %(min)d 至 %(max)d 字")), *TEXT])
    desired_outcome = TextAreaField(_l("诉求（选填）"), description=_l("希望如何解决"),
                                    validators=[Optional(), Length(max=3000), *TEXT])
    withhold_identity = BooleanField(_l("请勿向被投诉方透露我的身份"))
    trade_secret_note = TextAreaField(_l("涉及商业秘密的内容（选填）"), description=_l(
        "写明哪些内容或附件涉及商业秘密，我们将限定知悉范围"),
        validators=[Optional(), Length(max=2000), *TEXT])

    @classmethod
    def from_database(cls, *args, **kwargs) -> "ComplaintForm":
        form = cls(*args, **kwargs)
        form.respondent_region.choices = [BLANK] + [
            SelectChoice(r.slug, r.tr("name")) for r in db.session.scalars(
                db.select(Region).where(Region.kind.in_(("city", "district", "county", "zone")))
                .order_by(Region.sort_order))]
        return form

    def record_values(self) -> dict:
        region = db.session.scalars(
            db.select(Region).filter_by(slug=self.respondent_region.data)).first() \
            if self.respondent_region.data else None
        return {
            "category": self.category.data,
            "company_name": self.company_name.data.strip(),
            "respondent_name": self.respondent_name.data.strip(),
            "respondent_region": region,
            "facts": self.facts.data.strip(),
            "desired_outcome": (self.desired_outcome.data or "").strip(),
            "withhold_identity": bool(self.withhold_identity.data),
            "trade_secret_note": (self.trade_secret_note.data or "").strip(),
            "contact_name": self.contact_name.data.strip(),
            "contact_phone": self.contact_phone.data,
            "contact_email": (self.contact_email.data or "").strip(),
        }


class TrackForm(FlaskForm):
    ticket = StringField(_l("编号"), description=_l("如 D-7K3M9QX2TA"), validators=[
        DataRequired(_l("输入提交后收到的编号")), Length(max=40, message=_l("编号不正确"))])
    access_code = StringField(_l("访问码"), description=_l("提交成功时显示，并已发送到您的邮箱"),
                              validators=[DataRequired(_l("输入访问码")), Length(max=40)])


class RatingForm(FlaskForm):
    rating = RadioField(_l("满意度"), choices=[SelectChoice(str(n), str(n))
                                                for n in range(5, 0, -1)],
                        validators=[InputRequired(_l("选择 1 至 5 分"))])
    comment = TextAreaField(_l("意见（选填）"), validators=[Optional(), Length(max=2000), *TEXT])


def formdata_from_json(payload: dict, list_fields: tuple[str, ...] = ()) -> tuple[MultiDict,
                                                                                   dict]:
    """A JSON object as form data, so the API validates exactly like the page. Values must
    be scalars (lists for ``list_fields``); anything else is an error for that field."""
    data, errors = MultiDict(), {}
    for key, value in payload.items():
        if key in list_fields and isinstance(value, list) and all(
                isinstance(v, str) for v in value):
            for item in value:
                data.add(key, item)
        elif isinstance(value, bool):
            data.add(key, "y" if value else "")
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            data.add(key, str(value))
        elif value is not None:
            errors[key] = str(_l("此项应为文字或数字"))
    return data, errors
