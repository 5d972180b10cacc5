"""Policy alerts: the subscription form and the pages mail links open.

The confirmation and unsubscribe buttons post without a CSRF token: the signed token in the
URL is the whole authority (a forged request would need it), and RFC 8058 one-click
unsubscribe is a bare POST from a mail client. Opening a link only shows a button, because
mail scanners open every link in a message.
"""

import click
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _

from portal.extensions import csrf, db, limiter, limits_off
from portal.i18n import current_lang
from portal.mail import drain_mail_quietly
from portal.policies.services import PolicyFilters, summary

from . import services
from .forms import SubscribeForm

bp = Blueprint("alerts", __name__, url_prefix="/<lang:lang>")


def subscribe_limit() -> str:
    """PORTAL_RATELIMIT per client, as for the other public forms (``off``: exempt)."""
    value = current_app.config.get("PORTAL_RATELIMIT", "20/hour")
    return "20/hour" if value.strip().lower() == "off" else value


@bp.route("/policies/subscribe", methods=["GET", "POST"])
@limiter.limit(subscribe_limit, methods=["POST"], exempt_when=limits_off)
def subscribe():
    if request.method == "GET":
        form = SubscribeForm(formdata=None, data=services.clean_filters(request.args))
    else:
        form = SubscribeForm()
    filters = services.clean_filters(form.filter_values())
    described = summary(PolicyFilters.from_args(filters))
    if not form.validate_on_submit():
        return render_template("alerts/subscribe.html", form=form, filters=filters,
                               described=described, pending_days=services.PENDING_DAYS), \
            422 if form.errors else 200
    if not form.is_bot():
        services.subscribe(form.email.data, filters, current_lang())
        db.session.commit()
        drain_mail_quietly()
    # The same page whether the address was new, waiting or subscribed: no enumeration.
    return render_template("alerts/message.html", heading=_("请查收确认邮件"), paragraphs=[
        _("如果地址正确，我们已向它发送一封确认邮件。请在 %(hours)d 小时内点击邮件中的链接，"
          "订阅才会生效。", hours=services.CONFIRM_HOURS),
        _("订阅条件：%(filters)s", filters=described),
        _("没有收到？请检查垃圾邮件文件夹，或稍后重新订阅。")],
        links=[(url_for("policies.index", **PolicyFilters.from_args(filters).as_args()),
                _("返回政策查询"))])


def _link_error(exc: services.LinkError):
    return render_template("alerts/message.html", heading=_("链接无法使用"),
                           paragraphs=[str(exc)], error=True,
                           links=[(url_for("alerts.subscribe"), _("重新订阅"))]), 400


@bp.route("/alerts/confirm/<token>", methods=["GET", "POST"])
@csrf.exempt
def confirm(token: str):
    try:
        result = services.confirm(token) if request.method == "POST" \
            else services.check_confirm_token(token)
    except services.LinkError as exc:
        return _link_error(exc)
    subscription = result.subscription
    described = summary(services.filters_of(subscription))
    if request.method == "GET" and not result.already:
        return render_template("alerts/message.html", heading=_("确认订阅新政策提醒"),
                               paragraphs=[_("订阅条件：%(filters)s", filters=described)],
                               action=request.path, button=_("确认订阅"))
    db.session.commit()
    return render_template("alerts/message.html", heading=_("订阅已生效"), paragraphs=[
        _("有符合条件的新政策发布时，我们会发邮件告诉您。订阅条件：%(filters)s",
          filters=described),
        _("每封提醒邮件都有退订链接，无需登录即可退订。")],
        links=[(url_for("alerts.manage", token=services.manage_token(subscription)),
                _("查看或退订"))])


def _ended():
    return render_template("alerts/message.html", heading=_("已退订"), paragraphs=[
        _("这项订阅已结束，您不会再收到它的提醒邮件，这个邮箱地址也已从订阅记录中删除。")],
        links=[(url_for("policies.index"), _("返回政策查询"))])


@bp.get("/alerts/manage/<token>")
def manage(token: str):
    try:
        subscription = services.by_manage_token(token)
    except services.LinkError as exc:
        return _link_error(exc)
    if subscription is None:
        return _ended()
    filters = services.filters_of(subscription)
    return render_template("alerts/manage.html", subscription=subscription,
                           described=services.summary(filters), filters=filters, token=token)


@bp.route("/alerts/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    try:
        subscription = services.by_manage_token(token)
    except services.LinkError as exc:
        return _link_error(exc)
    if subscription is None:
        return _ended()
    if request.method == "GET":
        return render_template("alerts/message.html", heading=_("退订新政策提醒"), paragraphs=[
            _("订阅条件：%(filters)s", filters=summary(services.filters_of(subscription)))],
            action=request.path, button=_("确认退订"))
    services.unsubscribe(subscription)
    db.session.commit()
    return _ended()


@bp.cli.command("send")
@click.option("--base-url", envvar="PORTAL_PUBLIC_URL", default="",
              help="The portal's public address for links in mails, e.g. https://zs.example.cn")
def send_command(base_url: str) -> None:
    """Queue alert mails for policies that went live, forget unconfirmed subscriptions,
    and send the mail outbox."""
    if base_url:
        with current_app.test_request_context(base_url=base_url):
            _send()
    elif services.can_link():
        _send()
    else:
        raise click.ClickException("give --base-url (or PORTAL_PUBLIC_URL, or SERVER_NAME) "
                                   "so that links in mails work")


def _send() -> None:
    counts = services.run()
    db.session.commit()
    drain_mail_quietly()
    click.echo(f"alert mails queued {counts['mails']}, unconfirmed forgotten "
               f"{counts['forgotten']}")
