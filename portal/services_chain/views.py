"""服务链: the deployment's services per category, from the data pack and the back office."""

from flask import Blueprint, render_template

from . import services

bp = Blueprint("services_chain", __name__, url_prefix="/<lang:lang>")


@bp.get("/services")
def index():
    return render_template("services/index.html", categories=services.categories(),
                           shown_address=services.shown_address)
