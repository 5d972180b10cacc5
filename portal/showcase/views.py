"""投资环境展示: home, environment, region and industry profiles."""

from flask import Blueprint, render_template

from . import services

bp = Blueprint("showcase", __name__, url_prefix="/<lang:lang>")


@bp.get("/")
def home():
    return render_template("showcase/home.html", **services.home_context())


@bp.get("/environment/")
def environment():
    return render_template("showcase/environment.html", **services.environment_context())


@bp.get("/regions/<slug>")
def region(slug: str):
    return render_template("showcase/region.html",
                           **services.region_context(services.get_region(slug)))


@bp.get("/industries/<slug>")
def industry(slug: str):
    return render_template("showcase/industry.html",
                           **services.industry_context(services.get_industry(slug)))
