"""载体匹配 / 土地筛选: land parcels and carriers on a map and in a list."""

from flask import Blueprint, render_template, request, url_for

from portal.pagination import page_arg

from . import maps, services

bp = Blueprint("sites", __name__, url_prefix="/<lang:lang>/sites")


@bp.get("/")
def index():
    filters = services.SiteFilters.from_args(request.args)
    # A number that cannot be a filter answers 422: the list leaves it out, and the page says
    # so beside the field (the filter script reloads the whole page to show it).
    status = 422 if filters.errors else 200
    page = services.list_sites(filters, page_arg())
    if request.args.get("partial") == "list":  # the filter script refreshes the list alone
        return render_template("sites/_list.html", filters=filters, page=page), status
    centre, zoom = services.map_view()
    site_map = maps.sites_map(center=centre, zoom=zoom, outlines=services.outlines(),
                              api_url=url_for("api.sites_geojson"), params=filters.as_args())
    return render_template("sites/index.html", filters=filters, page=page,
                           regions=services.filter_regions(),
                           site_map=maps.render(site_map)), status


@bp.get("/<id:site_id>")
def detail(site_id: int):
    site = services.get_site(site_id)
    inset = maps.render(maps.inset_map(site, services.outlines(site.region)))
    return render_template("sites/detail.html", site=site, inset=inset,
                           nearby=services.nearby(site), contact=services.contact(site))


@bp.get("/match")
def match():
    from .forms import SiteMatchForm
    from .matcher import match as run_match

    form = SiteMatchForm.from_database(request.args)
    matches = run_match(form.to_requirements()) if request.args and form.validate() else None
    return render_template("sites/match.html", form=form, matches=matches), \
        422 if form.errors else 200
