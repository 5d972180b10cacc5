from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional


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


class StatusForm(FlaskForm):
    status = SelectField(_l("转为"), validators=[DataRequired(_l("选择新的状态"))])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=3000)],
                         description=_l("公开说明会显示给提交人；内部备注只有工作人员可见"))
    public = BooleanField(_l("向提交人公开这条说明"), default=True)


class TransferForm(FlaskForm):
    region = SelectField(_l("流转至"), validators=[DataRequired(_l("选择接收的县区或开发区"))])
    reason = TextAreaField(_l("流转理由"), validators=[
        DataRequired(_l("写明流转理由，如：本区域无法满足用地需求")), Length(max=1000)])
