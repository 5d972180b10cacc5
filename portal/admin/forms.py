from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional


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


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[
        DataRequired(_l("输入当前密码")),
        Length(max=200, message=_l("密码不能超过 %(max)d 个字符"))])
    new = PasswordField(_l("新密码"), validators=[
        DataRequired(_l("输入新密码")),
        Length(max=200, message=_l("密码不能超过 %(max)d 个字符"))],
        description=_l("至少 12 个字符；可以用几个词组成的短语，不能是常见密码"))
    confirm = PasswordField(_l("再次输入新密码"), validators=[
        DataRequired(_l("再次输入新密码")),
        EqualTo("new", message=_l("两次输入的新密码不一致，请重新输入"))])


class UserForm(FlaskForm):
    """What an admin may change of an account; choices are filled from the database."""

    name = StringField(_l("姓名"), validators=[Optional(), Length(max=80)])
    role = SelectField(_l("角色"), validators=[DataRequired(_l("选择角色"))])
    # No Optional(): it would stop the chain before the role checks below.
    region = SelectField(_l("所属县区或开发区"), description=_l("“县区/开发区”角色必填"))
    department = SelectField(_l("所属部门"), description=_l("“部门”角色必填"))
    active = BooleanField(_l("账号启用"), default=True)

    def validate_region(self, field) -> None:
        if self.role.data == "region" and not field.data:
            raise ValidationError(_l("选择该工作人员所属的县区或开发区"))

    def validate_department(self, field) -> None:
        if self.role.data == "department" and not field.data:
            raise ValidationError(_l("选择该工作人员所属的部门"))


class NewUserForm(UserForm):
    email = EmailField(_l("电子邮箱"), validators=[
        DataRequired(_l("输入工作人员的工作邮箱")),
        Email(_l("输入正确格式的电子邮箱，如 name@example.gov.cn")),
        Length(max=254, message=_l("电子邮箱不能超过 %(max)d 个字符"))])
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=200)],
                             description=_l("留空则由系统生成，只显示一次"))
