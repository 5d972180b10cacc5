"""术语表: the investment terms foreign investors meet, in five languages."""

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from search.text import MAX_QUERY

from . import services

bp = Blueprint("glossary", __name__, url_prefix="/<lang:lang>")

CATEGORIES = {
    "land": _l("土地"),
    "planning-construction": _l("规划与建设"),
    "approvals": _l("审批服务"),
    "investment-promotion": _l("招商引资"),
    "industry-chain": _l("产业链"),
    "industries": _l("产业"),
    "benefits": _l("奖励与补贴"),
    "tax": _l("税收"),
    "finance": _l("金融"),
    "talent": _l("人才"),
    "energy-utilities": _l("能源与公用事业"),
    "trade-foreign": _l("外资与外贸"),
    "business-environment": _l("营商环境"),
    "zones-places": _l("园区与地名"),
    "organisations": _l("机构"),
    "documents": _l("公文"),
}


@bp.get("/glossary")
def index():
    raw = request.args.get("q", "")
    q = raw.strip()[:MAX_QUERY] if isinstance(raw, str) else ""
    found = services.search(q)
    order = {name: i for i, name in enumerate(CATEGORIES)}
    sections = {}
    for term in sorted(found, key=lambda t: order.get(t.category, len(order))):
        sections.setdefault(term.category, []).append(term)
    return render_template("glossary/index.html", q=q, total=len(found), sections=sections,
                           categories=CATEGORIES)


@bp.app_template_global()
def beside(chinese: str, kind: str = "name") -> Markup:
    """The glossary's translation of a Chinese issuer (``kind="name"``) or document number
    (``kind="doc_number"``), in brackets after it; empty where there is none."""
    from portal.i18n import HTML_LANG, current_lang

    lang = current_lang()
    found = (services.doc_number_name if kind == "doc_number" else services.issuer_name)(
        chinese, lang)
    if not found:
        return Markup("")
    text, code = found
    return Markup(' <span class="beside" lang="{}">（{}）</span>').format(HTML_LANG[code], text)
