"""机会清单: scene opportunities, project lists, 揭榜挂帅, capability and demand lists."""

from flask import Blueprint, render_template, request

from portal.i18n import china_today
from portal.pagination import page_arg

from . import phases, services

bp = Blueprint("opportunities", __name__, url_prefix="/<lang:lang>/opportunities")


@bp.get("/")
def index():
    filters = services.OpportunityFilters.from_args(request.args)
    results = services.search(filters, page_arg())
    # A value that cannot be a filter answers 422: the list leaves it out and the page says
    # so beside the field, as the sites list does.
    return render_template("opportunities/index.html", filters=filters, results=results,
                           day=china_today(), countdown=services.countdown,
                           current_phase=phases.current,
                           chosen_filters=services.chosen_filters,
                           regions=services.filter_regions(),
                           industries=services.filter_industries()), \
        422 if filters.errors else 200


@bp.get("/<id:item_id>")
def detail(item_id: int):
    item = services.get_opportunity(item_id)
    today = china_today()
    timeline = phases.timeline(item, today)
    return render_template("opportunities/detail.html", item=item, day=today,
                           left=services.countdown(item, today), timeline=timeline,
                           upcoming=phases.following(timeline))
