"""The JSON API under /api/v1 (documented by /api/v1/openapi.json)."""

import re

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from portal.errors import json_error
from portal.extensions import csrf, db, failed_lookup, limiter, limits_off
from portal.i18n import normalise
from portal.intake.views import submission_limit
from portal.models import FactorCost, Industry, Region, Site
from portal.opportunities import services as opportunity_services
from portal.pagination import page_arg
from portal.policies import services as policy_services
from portal.sites import services as site_services
from portal.sites.services import SiteFilters
from portal.tracking.views import GUESSES

from . import schemas, serializers
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def choose_language():
    """Translated fields follow ``?lang=`` or Accept-Language; links point at that language."""
    g.lang = normalise(request.args.get("lang")) or normalise(
        request.accept_languages.best_match(["zh", "en", "ja", "ko", "ru"])) or "zh"


@bp.before_request
def check_query():
    """Query values the OpenAPI document refuses answer 400, checked against the very
    parameter declarations the document publishes (``schemas.query_parameters``)."""
    errors = schemas.check_query(schemas.query_parameters(request.endpoint), request.args)
    if errors:
        return json_error(400, _("查询参数有误，请按 fields 中的说明修改。"), fields=errors)
    return None


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/policies")
def policies():
    filters = policy_services.PolicyFilters.from_args(request.args)
    results = policy_services.search_policies(filters, page_arg())
    return jsonify({
        "total": results.page.total,
        "page": results.page.page,
        "pages": results.page.pages,
        "items": [serializers.policy_summary(p, results.snippets.get(p.id, ""))
                  for p in results.page.items],
        "facets": results.facets,
        "degraded": results.degraded,
        "expanded": [{"typed": m.typed, "chinese": m.chinese} for m in results.expanded],
    })


@bp.get("/policies/<id:policy_id>")
def policy(policy_id: int):
    return jsonify(serializers.policy_full(policy_services.get_policy(policy_id)))


def _json_body():
    """The request's JSON, or abort: 415 for another content type, 400 when unreadable."""
    if not request.is_json:
        abort(415)
    data = request.get_json(silent=True)
    if data is None:
        response, status = json_error(400, _("请求内容不是有效的 JSON。"))
        response.status_code = status
        abort(response)
    return data


@bp.post("/policies/match")
def match_policies():
    from portal.policies.matcher import match, profile_from_mapping

    profile, errors = profile_from_mapping(_json_body())
    if errors:
        return json_error(422, fields=errors)
    result = match(profile)
    return jsonify({"items": [serializers.policy_match(m) for m in result.items],
                    "near": [serializers.policy_match(m) for m in result.near]})


@bp.get("/sites.geojson")
def sites_geojson():
    """Sites as GeoJSON, by bounding box and the list's filters. ``cluster=1`` (the map's
    own requests) answers grid clusters when a view holds too many sites to draw one by
    one; ``crs=gcj02`` converts positions for tile providers that need it."""
    filters = SiteFilters.from_args(request.args)
    if filters.errors:
        return json_error(422, fields=filters.errors)
    bbox = _bbox(request.args.get("bbox"))
    if request.args.get("cluster") == "1" and bbox is not None:
        groups = site_services.clusters(filters, bbox)
        if groups is not None:
            return _geojson([serializers.cluster_feature(g, to_gcj02=_gcj02()) for g in groups])
    stmt = site_services.filtered(filters).options(selectinload(Site.region))
    if bbox is not None:
        stmt = site_services.in_bbox(stmt, bbox)
    sites = db.session.scalars(stmt.order_by(Site.id))
    return _geojson([serializers.site_feature(s, to_gcj02=_gcj02()) for s in sites])


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        west, south, east, north = (float(v) for v in value.split(","))
    except ValueError:
        abort(400)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        abort(400)
    return west, south, east, north


def _gcj02() -> bool:
    return request.args.get("crs", "").lower() == "gcj02"


def _geojson(features: list[dict]):
    response = jsonify({"type": "FeatureCollection", "features": features})
    response.mimetype = "application/geo+json"
    return response


@bp.post("/sites/match")
def match_sites():
    from portal.sites.matcher import match, requirements_from_mapping

    requirements, errors = requirements_from_mapping(_json_body())
    if errors:
        return json_error(422, fields=errors)
    return jsonify({"items": [serializers.site_match(m) for m in match(requirements)]})


@bp.get("/sites/<id:site_id>")
def site(site_id: int):
    item = db.session.scalar(db.select(Site).filter_by(id=site_id)) or abort(404)
    return jsonify(serializers.site_full(item))


# --- intake -----------------------------------------------------------------------------

FORM_ONLY = {"csrf_token", "website", "idempotency_key", "attachments"}


def _submission(kind: str):
    """POST a demand or complaint as JSON, or as multipart form data with attachments."""
    from portal.audit import client_address
    from portal.intake import attachments, services
    from portal.intake.forms import KEY_PATTERN, ComplaintForm, DemandForm, formdata_from_json
    from portal.intake.views import uploaded_files

    form_class = DemandForm if kind == "demand" else ComplaintForm
    if request.is_json:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return json_error(400, _("请求内容应为 JSON 对象。"))
        formdata, errors = formdata_from_json(payload, ("preferred_regions",))
        files = []
    elif request.mimetype == "multipart/form-data":
        formdata, errors, files = request.form, {}, uploaded_files()
    else:
        abort(415)
    form = form_class.from_database(formdata=formdata, meta={"csrf": False})
    known = {f.name for f in form} - FORM_ONLY
    errors |= {name: _("没有这个字段") for name in sorted(set(formdata) - known)
               if name != "attachments"}
    if not form.validate() or errors:
        errors |= {name: str(messages[0]) for name, messages in form.errors.items()}
        return json_error(422, fields=errors)
    try:
        checked = attachments.check_all(files)
    except attachments.AttachmentsError as exc:
        return json_error(422, fields={"attachments": "；".join(exc.messages)})
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and not re.fullmatch(KEY_PATTERN, key):
        return json_error(400, _("Idempotency-Key 应为 1 至 80 个字母、数字或 _.:- 字符。"))
    submit = services.submit_demand if kind == "demand" else services.submit_complaint
    try:
        receipt = submit(form.record_values(), checked, key=key, language=g.lang,
                         client=client_address())
    except services.IdempotencyConflict:
        return json_error(422, _(
            "这个 Idempotency-Key 已用于另一个请求（内容或来源不同），本次请求未保存。"
            "重试时请发送与首次完全相同的内容；提交新内容请使用新的 Idempotency-Key。"))
    services.after_submission()
    body = {"ticket": receipt.ticket, "access_code": receipt.access_code,
            "status": receipt.status}
    if receipt.replayed:
        return jsonify(body | {"replayed": True}), 200
    return jsonify(body), 201


def _json_types(kind: str):
    """A JSON body whose values have the wrong JSON type answers 422 here, against the
    document's own schema of the form: the form reads every value as text and would take
    ``true`` for a name or ``"yes"`` for a yes-or-no answer."""
    from portal.intake.forms import ComplaintForm, DemandForm

    payload = request.get_json(silent=True) if request.is_json else None
    if not isinstance(payload, dict):
        return None  # _submission answers 400 or 415
    form_class = DemandForm if kind == "demand" else ComplaintForm
    schema = schemas.form_schema(form_class.from_database(formdata=None, meta={"csrf": False}))
    errors = schemas.json_type_errors(schema, payload)
    return json_error(422, fields=errors) if errors else None


@bp.post("/demands")
@limiter.shared_limit(submission_limit, scope="submissions", exempt_when=limits_off)
def create_demand():
    return _json_types("demand") or _submission("demand")


@bp.post("/complaints")
@limiter.shared_limit(submission_limit, scope="submissions", exempt_when=limits_off)
def create_complaint():
    return _json_types("complaint") or _submission("complaint")


@bp.get("/track/<ticket>")
@limiter.limit(GUESSES, exempt_when=limits_off, deduct_when=failed_lookup)
def track(ticket: str):
    """A wrong code answers exactly as an unknown ticket: 404."""
    from portal.intake import services

    record = services.find(ticket[:40], request.headers.get("X-Access-Code", "")[:40])
    if record is None:
        return json_error(404)
    return jsonify({
        "ticket": record.ticket,
        "kind": "demand" if record.ticket.startswith("D") else "complaint",
        "status": record.status,
        "events": [{"at": services.as_utc(e.at).isoformat(), "status": e.status, "note": e.note}
                   for e in services.public_events(record)],
        "rating": record.rating,
    })


@bp.get("/opportunities")
def opportunities():
    """Every status unless ``status`` says otherwise (the page shows open ones by default)."""
    filters = opportunity_services.OpportunityFilters.from_args(request.args,
                                                                default_status="all")
    if filters.errors:  # what the document cannot say: a maximum below the minimum
        return json_error(400, _("查询参数有误，请按 fields 中的说明修改。"),
                          fields=filters.errors)
    results = opportunity_services.search(filters, page_arg(),
                                          per_page=opportunity_services.API_PER_PAGE)
    return jsonify({
        "total": results.page.total,
        "page": results.page.page,
        "pages": results.page.pages,
        "items": [serializers.opportunity(o) | {"snippet": results.snippets.get(o.id, "")}
                  for o in results.page.items],
        "counts": {"kind": {k: n for k, n in results.counts.items() if k},
                   "status": results.status_counts},
        "degraded": results.degraded,
        "expanded": [{"typed": m.typed, "chinese": m.chinese} for m in results.expanded],
    })


@bp.get("/regions")
def regions():
    items = db.session.scalars(db.select(Region).order_by(Region.sort_order))
    return jsonify({"items": [serializers.region(r) for r in items]})


@bp.get("/regions/<slug>/factor-costs")
def region_factor_costs(slug: str):
    """要素成本 of one region, each figure with its year and source."""
    region = db.session.scalar(db.select(Region).filter_by(slug=slug[:80])) or abort(404)
    items = db.session.scalars(db.select(FactorCost).filter_by(region_id=region.id)
                               .order_by(FactorCost.sort_order, FactorCost.id))
    return jsonify({"region": serializers.region(region),
                    "items": [serializers.factor_cost(f) for f in items]})


@bp.get("/industries")
def industries():
    items = db.session.scalars(db.select(Industry).order_by(Industry.sort_order))
    return jsonify({"items": [serializers.industry(i) for i in items]})
