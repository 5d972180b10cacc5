"""Staff figures drawn from the records: 三个一批 beside the published figures, service
performance and ratings; every figure counted within the user's scope."""

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import exports
from portal.cases import stats

bp = Blueprint("stats", __name__, url_prefix="/admin")


@bp.get("/stats")
@login_required
def index():
    error = ""
    try:
        chosen = stats.period(request.args.get("period", "")[:20])
    except stats.PeriodError as exc:
        error, chosen = str(exc), stats.period("")
    today = stats.today()
    choices = [(str(today.year), _("%(year)d年", year=today.year))] + [
        (f"{today.year}Q{q}", _("%(year)d年第%(quarter)d季度", year=today.year, quarter=q))
        for q in range(1, (today.month - 1) // 3 + 2)] + [
        (str(today.year - 1), _("%(year)d年", year=today.year - 1)),
        ("since2023", _("2023年以来（与公布口径一致）"))]
    return render_template(
        "admin/stats.html", period=chosen, error=error, choices=choices,
        batches=stats.batches(stats.own_projects(current_user), chosen),
        published=stats.published(), perf=stats.performance(current_user),
        ratings=stats.ratings(current_user)), (400 if error else 200)


def _export(fmt: str):
    header, *rows = stats.performance_rows(stats.performance(current_user))
    return exports.table_response(header, rows, "performance", fmt, entity_type="performance")


@bp.get("/stats/performance.csv")
@login_required
def performance_csv():
    return _export("csv")


@bp.get("/stats/performance.xlsx")
@login_required
def performance_xlsx():
    return _export("xlsx")


exports.register_list("stats.index", csv="stats.performance_csv", xlsx="stats.performance_xlsx")
