"""服务链: links into the government service platform, configured by the data pack."""

from flask import Blueprint, render_template

from portal.extensions import db
from portal.models import ServiceLink

bp = Blueprint("services_chain", __name__, url_prefix="/<lang:lang>")


@bp.get("/services")
def index():
    links = db.session.scalars(db.select(ServiceLink).order_by(ServiceLink.sort_order)).all()
    return render_template("services/index.html", links=links)
