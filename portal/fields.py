"""Form fields whose built-in messages say what to do in the visitor's language and never
echo what was sent (WTForms' own messages are English and quote the input)."""

import decimal

from flask_babel import lazy_gettext as _l
from wtforms import fields
from wtforms import widgets as w
from wtforms.validators import ValidationError


class _Choice:
    choice_message = _l("从列表中选择一项")

    def pre_validate(self, form):
        if not self.validate_choice or self.data in (None, ""):
            return
        if not any(self.data == choice.value for choice in self.iter_choices()):
            raise ValidationError(self.choice_message)


class SelectField(_Choice, fields.SelectField):
    pass


class RadioField(_Choice, fields.RadioField):
    pass


class MultiCheckboxField(fields.SelectMultipleField):
    widget = w.ListWidget(prefix_label=False)
    option_widget = w.CheckboxInput()

    def pre_validate(self, form):
        values = {choice.value for choice in self.iter_choices()}
        if any(item not in values for item in self.data or []):
            raise ValidationError(_l("只能从列出的选项中选择"))


class DecimalField(fields.DecimalField):
    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        try:
            self.data = decimal.Decimal(str(valuelist[0]).strip().replace(",", ""))
        except (decimal.InvalidOperation, ValueError) as exc:
            self.data = None
            raise ValueError(_l("输入数字，如 100 或 12.5")) from exc
        if not self.data.is_finite():
            self.data = None
            raise ValueError(_l("输入数字，如 100 或 12.5"))


class IntegerField(fields.IntegerField):
    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        try:
            self.data = int(str(valuelist[0]).strip())
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("输入整数，如 50")) from exc


class ReadableNumber:
    """Stops at a number that could not be read, so its message is not followed by a
    second one from the range check; ``Decimal`` reads "NaN" and "Infinity", refused here."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        from wtforms.validators import StopValidation

        if field.process_errors:
            raise StopValidation()
        if isinstance(field.data, decimal.Decimal) and not field.data.is_finite():
            raise StopValidation(self.message)


LOCAL_KINDS = ("district", "county", "zone")


def industry_choices() -> list[fields.SelectChoice]:
    from sqlalchemy.orm import load_only

    from portal.extensions import db
    from portal.models import Industry

    rows = db.session.scalars(
        db.select(Industry).options(load_only(Industry.slug, Industry.name, Industry.translations))
        .order_by(Industry.sort_order, Industry.id))
    return [fields.SelectChoice(row.slug, row.tr("name")) for row in rows]


def region_choices(grouped: bool = True) -> list[fields.SelectChoice]:
    """Districts and counties, then zones (each in an ``<optgroup>`` when ``grouped``)."""
    from sqlalchemy.orm import load_only

    from portal.extensions import db
    from portal.models import Region

    rows = db.session.scalars(
        db.select(Region).where(Region.kind.in_(LOCAL_KINDS))
        .options(load_only(Region.slug, Region.name, Region.translations, Region.kind))
        .order_by(Region.sort_order, Region.id))
    rows = sorted(rows, key=lambda row: row.is_zone)
    return [fields.SelectChoice(
        row.slug, row.tr("name"),
        optgroup=str(_l("开发区") if row.is_zone else _l("区、县")) if grouped else None)
        for row in rows]
