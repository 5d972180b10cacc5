"""政策查询: the policy library."""

from flask import Blueprint, make_response, render_template, request

from portal.glossary import services as glossary
from portal.pagination import page_arg
from seed.textclean import heading_level, split_paragraphs

from . import services

bp = Blueprint("policies", __name__, url_prefix="/<lang:lang>/policies")
FEED_SIZE = 30


@bp.get("/")
def index():
    filters = services.PolicyFilters.from_args(request.args)
    results = services.search_policies(filters, page_arg())
    return render_template("policies/index.html", filters=filters, results=results,
                           facets=services.FACETS, facet_values=services.labelled(results.facets))


@bp.get("/match")
def match():
    from .forms import MatchForm
    from .matcher import match as run_match

    form = MatchForm.from_database(request.args)
    result = run_match(form.to_profile()) if request.args and form.validate() else None
    return render_template("policies/match.html", form=form, result=result), \
        422 if form.errors else 200


@bp.get("/<id:policy_id>")
def detail(policy_id: int):
    policy = services.get_policy(policy_id)
    paragraphs = [(heading_level(p), p) for p in split_paragraphs(policy.tr("body"))]
    terms = glossary.terms_in(policy.title, policy.summary, policy.body)
    return render_template("policies/detail.html", policy=policy, paragraphs=paragraphs,
                           related=services.related(policy), terms=terms)


@bp.get("/feed.xml")
def feed():
    """The newest policies the search page's filters select (the same query string), so a
    reader can follow a search; a value that cannot be right is dropped, as there."""
    filters = services.PolicyFilters.from_args(request.args)
    filters.sort = "date"
    results = services.search_policies(filters, 1, per_page=FEED_SIZE)
    policies = results.page.items
    response = make_response(render_template(
        "policies/feed.xml", policies=policies, filters=filters,
        described=services.summary(filters) if services.described(filters) else "",
        updated=max((p.updated_at for p in policies), default=None)))
    response.mimetype = "application/atom+xml"
    return response
