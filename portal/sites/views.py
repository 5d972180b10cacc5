"""载体匹配 / 土地筛选: land parcels and carriers."""

from flask import Blueprint, render_template, request

from portal.pagination import page_arg

from . import services

bp = Blueprint("sites", __name__, url_prefix="/<lang:lang>/sites")


@bp.get("/")
def index():
    filters = services.SiteFilters.from_args(request.args)
    return render_template("sites/index.html", filters=filters,
                           page=services.list_sites(filters, page_arg()),
                           regions=services.filter_regions())


@bp.get("/<int:site_id>")
def detail(site_id: int):
    return render_template("sites/detail.html", site=services.get_site(site_id))
