"""The policy matcher's form: an enterprise describes itself, every answer optional."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from portal.fields import ReadableNumber, industry_choices, region_choices

from .matcher import CHOICES, FIELD_LABELS, MAXIMA, NUMBER_FIELDS, VALUE_LABELS, Profile, too_large

# Where an enterprise can be: the pages offer districts, counties and zones, not the city.
BLANK = SelectChoice("", _l("未填写"))


def _at_most(name: str):
    """Refuses a figure over ``MAXIMA`` with a message that names the limit and its unit."""
    def check(form, field):
        if field.data is not None and field.data > MAXIMA[name]:
            raise ValidationError(too_large(name))
    return check


def _select(name: str, description, message) -> SelectField:
    return SelectField(FIELD_LABELS[name], choices=[BLANK], default="", description=description,
                       invalid_choice_message=message)


def _amount(name: str, field_class, description, message, **kwargs) -> Field:
    """A number typed as text (``inputmode`` brings up the keypad): GOV.UK advises against
    ``type=number``, which changes on scroll and hides what was typed."""
    return field_class(FIELD_LABELS[name], description=description, widget=TextInput(),
                       invalid_value_message=message, **kwargs,
                       validators=[Optional(), ReadableNumber(message),
                                   NumberRange(min=0, message=message), _at_most(name)])


class MatchForm(FlaskForm):
    """The enterprise profile, read from the query string (GET, so no CSRF token).

    Every field may be left blank; ``from_database`` fills the industry and region choices.
    """

    class Meta:
        csrf = False

    industry = _select("industry", _l("项目所属产业；不确定可不选"),
                       _l("从列表中选择产业，或选择“未填写”"))
    region = _select("region", _l("项目拟落地或企业注册所在的区、县或开发区"),
                     _l("从列表中选择区、县或开发区，或选择“未填写”"))
    investor_type = _select("investor_type", _l("外商投资企业、港澳台投资企业另有专门政策"),
                            _l("从列表中选择投资主体，或选择“未填写”"))
    stage = _select("stage", _l("项目目前处于哪个阶段"),
                    _l("从列表中选择项目阶段，或选择“未填写”"))
    size = _select("size", _l("按国家统计局大中小微型企业划分标准"),
                   _l("从列表中选择企业规模，或选择“未填写”"))
    investment_wan = _amount("investment_wan", DecimalField,
                             _l("计划或新增的固定资产投资，单位万元；1亿元填 10000"),
                             _l("输入投资额，单位万元，如 5000"), places=None)
    employees = _amount("employees", IntegerField, _l("企业从业人员总数，单位人"),
                        _l("输入从业人数，用整数，如 120"))
    revenue_wan = _amount("revenue_wan", DecimalField, _l("上一年度营业收入，单位万元"),
                          _l("输入年营业收入，单位万元，如 20000"), places=None)
    years_registered = _amount("years_registered", IntegerField,
                               _l("企业注册至今的整年数，新设企业填 0"),
                               _l("输入注册年限，用整年数，如 3"))

    @classmethod
    def from_database(cls, formdata=None) -> "MatchForm":
        """A form bound to ``formdata`` (the query string), with its choices loaded."""
        form = cls(formdata=formdata or None)
        form.industry.choices = [BLANK, *industry_choices()]
        form.region.choices = [BLANK, *region_choices()]
        for name in CHOICES:
            form[name].choices = [BLANK, *(SelectChoice(value, label)
                                           for value, label in VALUE_LABELS[name].items())]
        return form

    def to_profile(self) -> Profile:
        """The answers as a matcher profile, blanks as unanswered; call after ``validate()``."""
        values = {name: self[name].data or None
                  for name in ("industry", "region", *CHOICES)}
        for name in NUMBER_FIELDS:
            data = self[name].data
            if isinstance(data, Decimal):
                data = int(data) if data == data.to_integral_value() else float(data)
            values[name] = data
        return Profile(**values)
