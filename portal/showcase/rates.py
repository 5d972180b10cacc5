"""Rates the portal computes from their inputs, with the published definitions.

Why: a rate typed in beside its inputs drifts from them the first time somebody edits one of
the two. The 三个一批 rates are defined in the source (seed 003, 全省开发区特刊（大同）):

* 签约开工率 = investment of the signed projects that have started ÷ total signed investment
  (192.3 ÷ 223.7 = 85.96 %, not the project count 102 ÷ 115 = 88.7 %);
* 开工项目投产率 = investment completed by the started projects now in production ÷ total
  started investment (72.36 ÷ 179.4 = 40.33 %, published as 40.32 %: the inputs are rounded);
* 战略性新兴产业投资占比 = investment of strategic emerging industry projects ÷ total investment;
* 前期手续办结率 = procedures completed ÷ procedures required (363 ÷ 364 = 99.73 %).

A record stores its ``rate_kind`` and the inputs (``rate_part``; ``rate_whole`` where the
kind's whole is not the record's own total investment). A rate the source prints without its
inputs (朔州's 开工率, 大同's 产业项目投产率) has no kind: it is kept as a *quoted* published value
with its own label, and pages say so. ``published_agrees`` tells the loader and the back office
whether a published figure fits the inputs once the rounding of every printed number is allowed
for (interval arithmetic on the printed decimals), so 40.32 % passes and 91.34 % against
13.2 ÷ 14.38 = 91.79 % does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class RateKind:
    label: object  # a lazy string
    part: object  # what rate_part holds
    whole: object  # what the whole is
    whole_is_investment: bool  # the whole is the record's investment_yi


RATE_KINDS: dict[str, RateKind] = {
    "signed_started": RateKind(_l("签约开工率"), _l("已开工项目总投资（亿元）"),
                               _l("签约项目总投资（亿元）"), True),
    "started_producing": RateKind(_l("开工项目投产率"), _l("已投产项目已完成投资（亿元）"),
                                  _l("开工项目总投资（亿元）"), True),
    "emerging_share": RateKind(_l("战略性新兴产业投资占比"),
                               _l("战略性新兴产业项目总投资（亿元）"),
                               _l("项目总投资（亿元）"), True),
    "procedures_done": RateKind(_l("前期手续办结率"), _l("已办结手续（件）"),
                                _l("需办理手续（件）"), False),
}


def whole_of(kind: str, investment_yi, rate_whole):
    """The denominator a kind uses for a record."""
    rate_kind = RATE_KINDS.get(kind)
    if rate_kind is None:
        return None
    return investment_yi if rate_kind.whole_is_investment else rate_whole


def compute(part, whole) -> float | None:
    """part ÷ whole in percent, rounded to two decimals as the sources print; None without
    both inputs or with a zero whole."""
    if part is None or whole is None or whole <= 0:
        return None
    return round(100 * float(part) / float(whole), 2)


def _half_unit(value) -> Decimal:
    """Half the last printed digit: 72.36 → 0.005, 179.4 → 0.05, 364 → 0.5."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return Decimal(5) * Decimal(10) ** (min(int(exponent), 0) - 1)


def published_agrees(published, part, whole) -> bool:
    """Whether a printed rate can come from the printed inputs, each rounded as printed."""
    if published is None or part is None or whole is None or whole <= 0:
        return True
    p, w, r = Decimal(repr(float(part))), Decimal(repr(float(whole))), Decimal(repr(float(
        published)))
    low = (p - _half_unit(part)) / (w + _half_unit(whole)) * 100
    high_whole = w - _half_unit(whole)
    high = (p + _half_unit(part)) / high_whole * 100 if high_whole > 0 else Decimal("Infinity")
    margin = max(_half_unit(published), Decimal("0.005"))
    return low - margin <= r <= high + margin
