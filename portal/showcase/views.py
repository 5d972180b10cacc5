"""投资环境展示: home, environment, region and industry profiles."""

from flask import Blueprint, render_template

from . import services

bp = Blueprint("showcase", __name__, url_prefix="/<lang:lang>")


@bp.app_template_global()
def rank_formatter(size: int):
    """For the ranking chart: a bar's value is size + 1 − rank (first place longest); its text
    says the rank."""
    from flask_babel import gettext as _

    def text(value) -> str:
        return _("第 %(n)d 名", n=int(round(size + 1 - value)))

    return text


@bp.app_template_global()
def region_figures(region):
    """A region's labelled figures with year, source and demo flag, for ``_figures.html``."""
    from portal.labels import FIGURE_LABELS
    from portal.showcase.figures import region_figures as figures

    return figures(region, FIGURE_LABELS)


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
