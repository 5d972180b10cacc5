"""The subscription form: an address, the search filters it carries, a honeypot."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import Email, InputRequired, Length, Optional

EMAIL_MESSAGE = _l("输入正确的电子邮箱，如 name@example.com")


class SubscribeForm(FlaskForm):
    """CSRF-protected; the filters travel as hidden fields and are checked again by the
    service, so a changed hidden value can only narrow or drop a filter."""

    email = EmailField(
        _l("电子邮箱"),
        description=_l("我们先发一封确认邮件，点击邮件中的链接后订阅才生效。地址只用于发送政策提醒。"),
        validators=[InputRequired(EMAIL_MESSAGE), Length(max=254, message=EMAIL_MESSAGE),
                    Email(EMAIL_MESSAGE)])
    q = HiddenField()
    level = HiddenField()
    topic = HiddenField()
    industry = HiddenField()
    region = HiddenField()
    status = HiddenField()
    website = StringField(_l("请勿填写此项"), validators=[Optional()])

    def is_bot(self) -> bool:
        return bool((self.website.data or "").strip())

    def filter_values(self) -> dict[str, str]:
        return {name: self[name].data or "" for name in
                ("q", "level", "topic", "industry", "region", "status")}
