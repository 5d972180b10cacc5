from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("电子邮箱"), validators=[
        DataRequired(_l("输入您的工作邮箱")),
        Email(_l("输入正确格式的电子邮箱，如 name@example.gov.cn")),
        Length(max=254, message=_l("电子邮箱不能超过 %(max)d 个字符")),
    ])
    password = PasswordField(_l("密码"), validators=[
        DataRequired(_l("输入密码")),
        Length(max=200, message=_l("密码不能超过 %(max)d 个字符")),
    ])
    remember = BooleanField(_l("在此设备上保持登录"))
