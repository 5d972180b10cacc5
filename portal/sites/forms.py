"""The site matcher's form: what the investor looks for and what the project needs.

Every answer is optional; a blank one is not held against any site (see ``matcher``).
"""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from portal.fields import ReadableNumber, industry_choices, region_choices
from portal.labels import LABELS
from portal.models import LAND_USES, READINESS_ITEMS, SITE_KINDS

from .matcher import (
    FIELD_LABELS,
    MAXIMA,
    MIN_OUTPUT_WAN,
    NUMBER_FIELDS,
    Requirements,
    too_large,
    too_small_output,
)

# Where a site can be: the form offers districts, counties and zones, not the city.
ANY = SelectChoice("", _l("不限"))
UNANSWERED = SelectChoice("", _l("未填写"))
# A number typed as text brings up the keypad; GOV.UK advises against type=number.
NUMBER_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}




class _Positive:
    """More than 0 (the energy ratio divides by it), and at least MIN_OUTPUT_WAN."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(self.message)
        if field.data is not None and field.data < Decimal(str(MIN_OUTPUT_WAN)):
            raise ValidationError(too_small_output())


def _at_most(name: str):
    """Refuses a figure over ``MAXIMA`` with a message that names the limit."""
    def check(form, field):
        if field.data is not None and field.data > MAXIMA[name]:
            raise ValidationError(too_large(name))
    return check


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (GOV.UK checkboxes, not a multi-select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _amount(name: str, description, message, positive: bool = False) -> DecimalField:
    in_range = _Positive(message) if positive else NumberRange(min=0, message=message)
    validators = [Optional(), ReadableNumber(message), in_range, _at_most(name)]
    return DecimalField(FIELD_LABELS[name], description=description, widget=TextInput(),
                        render_kw=NUMBER_ATTRS, places=None, invalid_value_message=message,
                        validators=validators)




class SiteMatchForm(FlaskForm):
    """The investor's requirements, read from the query string (GET, so no CSRF token).

    ``from_database`` fills the region and industry choices.
    """

    class Meta:
        csrf = False

    # What to look for: these filter, a site that fails one is not shown.
    kinds = MultiCheckboxField(FIELD_LABELS["kinds"], description=_l("可多选；都不选表示不限"),
                        invalid_choice_message=_l("从列表中勾选载体类型"))
    land_use = SelectField(FIELD_LABELS["land_use"], choices=[ANY], default="",
                           description=_l("规划确定的土地用途；厂房、楼宇按所在地块的用途"),
                           invalid_choice_message=_l("从列表中选择用地性质，或选择“不限”"))
    region = SelectField(FIELD_LABELS["regions"], choices=[ANY], default="",
                         description=_l("选择区、县时，也包括其中的开发区"),
                         invalid_choice_message=_l("从列表中选择区、县或开发区，或选择“不限”"))
    min_area = _amount("min_area", _l("土地按亩计，厂房、楼宇按建筑面积平方米计；不限可不填"),
                       _l("输入最小面积，土地以亩计、厂房楼宇以平方米计，如 50"))
    max_area = _amount("max_area", _l("单位同最小面积；不限可不填"),
                       _l("输入最大面积，土地以亩计、厂房楼宇以平方米计，如 150"))
    must_have = MultiCheckboxField(FIELD_LABELS["must_have"],
                            description=_l("只列出已具备所勾选条件的土地和载体"),
                            invalid_choice_message=_l("从列表中勾选配套条件"))
    # Preferences: these rank the sites; a miss lowers the score and is listed.
    max_land_price_wan_per_mu = _amount(
        "max_land_price_wan_per_mu", _l("土地出让价格的上限，单位万元/亩；只用于土地"),
        _l("输入土地价格上限，单位万元/亩，如 15"))
    max_rent_yuan_m2_month = _amount(
        "max_rent_yuan_m2_month", _l("每平方米每月租金的上限，单位元；只用于厂房、楼宇"),
        _l("输入租金上限，单位元/平方米·月，如 12"))
    power_kva = _amount("power_kva", _l("需要的供电容量，单位 kVA"),
                        _l("输入用电容量，单位 kVA，如 2000"))
    floor_load_kn_m2 = _amount("floor_load_kn_m2",
                               _l("设备需要的楼面荷载，单位 kN/m²；只用于厂房、楼宇"),
                               _l("输入楼面荷载，单位 kN/m²，如 10"))
    ceiling_height_m = _amount("ceiling_height_m", _l("需要的层高，单位米；只用于厂房、楼宇"),
                               _l("输入层高，单位米，如 8"))
    # The project: checked against 标准地 indicators, and the floor area against carriers.
    industry = SelectField(FIELD_LABELS["industry"], choices=[UNANSWERED], default="",
                           description=_l("项目所属产业；不确定可不选"),
                           invalid_choice_message=_l("从列表中选择产业，或选择“未填写”"))
    investment_wan = _amount("investment_wan",
                             _l("计划固定资产投资，单位万元；1亿元填 10000；用于核算亩均投资"),
                             _l("输入计划投资额，单位万元，如 30000"))
    floor_area_m2 = _amount("floor_area_m2",
                            _l("计划总建筑面积，单位平方米；用于核算容积率和厂房、楼宇面积"),
                            _l("输入计划建筑面积，单位平方米，如 60000"))
    tax_wan = _amount("tax_wan", _l("达产后每年税收，单位万元；用于核算亩均税收"),
                      _l("输入预计年税收，单位万元，如 1500"))
    energy_t = _amount("energy_t", _l("达产后每年综合能耗，单位吨标准煤；用于核算单位能耗"),
                       _l("输入年综合能耗，单位吨标准煤，如 3000"))
    output_wan = _amount("output_wan", _l("达产后每年产值，单位万元；与年综合能耗一起填写"),
                         _l("输入预计年产值，单位万元，须大于 0，如 50000"), positive=True)

    @classmethod
    def from_database(cls, formdata=None) -> "SiteMatchForm":
        """A form bound to ``formdata`` (the query string), with its choices loaded."""
        form = cls(formdata=formdata or None)
        form.kinds.choices = [SelectChoice(k, LABELS["site_kind"][k]) for k in SITE_KINDS]
        form.must_have.choices = [SelectChoice(k, LABELS["readiness"][k])
                                  for k in READINESS_ITEMS]
        form.land_use.choices = [ANY, *(SelectChoice(k, LABELS["land_use"][k])
                                        for k in LAND_USES)]
        form.region.choices = [ANY, *region_choices()]
        form.industry.choices = [UNANSWERED, *industry_choices()]
        return form

    def validate_max_area(self, field):
        low, high = self.min_area.data, field.data
        if field.errors or self.min_area.errors or low is None or high is None:
            return
        if high < low:
            raise ValidationError(_l("输入不小于最小面积的最大面积"))

    def to_requirements(self) -> Requirements:
        """The answers as matcher requirements, blanks as unanswered; call after
        ``validate()``."""
        values = {name: _plain(self[name].data) for name in NUMBER_FIELDS}
        return Requirements(
            kinds=list(self.kinds.data or []),
            must_have=list(self.must_have.data or []),
            land_use=self.land_use.data or None,
            regions=[self.region.data] if self.region.data else [],
            industry=self.industry.data or None,
            **values,
        )


def _plain(data):
    if isinstance(data, Decimal):
        return int(data) if data == data.to_integral_value() else float(data)
    return data
