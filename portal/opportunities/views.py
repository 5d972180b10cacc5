"""机会清单: scene opportunities, project lists, capability and demand lists."""

from flask import Blueprint, render_template, request

from portal.models import OPPORTUNITY_KINDS
from portal.pagination import page_arg

from . import services

bp = Blueprint("opportunities", __name__, url_prefix="/<lang:lang>/opportunities")


@bp.get("/")
def index():
    kind = request.args.get("kind", "")
    kind = kind if kind in OPPORTUNITY_KINDS else ""
    return render_template("opportunities/index.html", kind=kind,
                           page=services.list_opportunities(kind, page_arg()),
                           counts=services.kind_counts())


@bp.get("/<id:item_id>")
def detail(item_id: int):
    return render_template("opportunities/detail.html", item=services.get_opportunity(item_id))
