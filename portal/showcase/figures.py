"""Region figures in groups, each group with its year (or period), its source and whether it is
demo data; shares computed from their inputs where the source gives them.

Why groups: the figures a source gives come together (a year's zone assessment, one quarter's
investment), so their year and source are stated once per group, as flat keys beside the
figures in ``Region.figures``: ``<group>_year``, ``<group>_source``, ``<group>_demo``. The
back-office region editor keeps editing one flat object, and a figure without a stated year or
source shows "未注明" rather than borrowing one.

Computed against quoted (decided per figure from seed 003, 全省开发区特刊（大同））:

* ``zones_excellent_rate`` = ``zones_excellent`` ÷ ``zones_assessed`` (the text: all 7 of the
  city's zones rated 优秀, "优秀等次实现了100%"), so it is computed, never stored;
* ``zone_industrial_investment_share`` (83.52 %), ``zone_transition_investment_share``
  (66.15 %) and the growth rate (60.8 %): the text gives the zones' amounts but not the city
  totals they are shares of, so they are *quoted* published values, marked 公布值 on pages.

Older records carry one ``figures_source`` and a ``demo`` flag or a ``note``; they still read
(as the source and demo flag of every group) until the pack is loaded again.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.showcase.rates import compute


@dataclass(frozen=True)
class Group:
    key: str
    label: object
    figures: tuple[str, ...]


GROUPS: tuple[Group, ...] = (
    Group("basic", _l("基本情况"), ("area_km2", "population_10k", "gdp_yi")),
    Group("rank", _l("全省开发区考评"), ("rank_group", "rank_province")),
    Group("assessment", _l("开发区考核"),
          ("zones_assessed", "zones_excellent", "zones_excellent_rate")),
    Group("investment", _l("开发区投资"),
          ("zone_industrial_investment_yi", "zone_industrial_investment_share",
           "zone_industrial_investment_growth", "zone_transition_investment_yi",
           "zone_transition_investment_share")),
    Group("batches", _l("“三个一批”活动"), ("three_batches_rounds",)),
    Group("reform", _l("改革与服务"),
          ("commitment_items", "standard_land_parcels", "standard_land_mu", "agency_services")),
    Group("zone", _l("园区概况"), ("planned_area_km2", "enterprises")),
)
GROUP_OF = {name: group for group in GROUPS for name in group.figures}
# Figures shown in percent; QUOTED ones are published values whose inputs the source lacks.
PERCENT = {"zones_excellent_rate", "zone_industrial_investment_share",
           "zone_industrial_investment_growth", "zone_transition_investment_share"}
QUOTED = {"zone_industrial_investment_share", "zone_industrial_investment_growth",
          "zone_transition_investment_share"}
COMPUTED = {"zones_excellent_rate": ("zones_excellent", "zones_assessed")}
# What the home page shows first of the city's figures.
HOME_KEYS = ("zones_excellent_rate", "zone_industrial_investment_yi",
             "zone_industrial_investment_share", "three_batches_rounds")
# The flat keys that state a group's year, source and demo flag (the editor's text fields).
META_KEYS = tuple(f"{g.key}_{part}" for g in GROUPS for part in ("year", "source"))
DEMO_KEYS = tuple(f"{g.key}_demo" for g in GROUPS)
META_LABELS = {
    **{f"{g.key}_year": _l("%(group)s：年份或时期", group=g.label) for g in GROUPS},
    **{f"{g.key}_source": _l("%(group)s：来源", group=g.label) for g in GROUPS},
}


@dataclass
class Figure:
    key: str
    label: object
    value: object
    percent: bool
    quoted: bool
    computed: bool
    year: str
    source: str
    demo: bool
    group: Group


def value_of(figures: dict, key: str):
    """A figure's value; computed ones from their inputs."""
    if key in COMPUTED:
        part, whole = COMPUTED[key]
        return compute(_num(figures.get(part)), _num(figures.get(whole)))
    return figures.get(key)


def _num(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def region_figures(region, labels: dict) -> list[Figure]:
    """The region's figures that have a label, in group order, each with year and source."""
    figures = region.figures or {}
    legacy_demo = bool(figures.get("demo") or str(figures.get("note", "")).startswith("演示"))
    shown = []
    for group in GROUPS:
        year = figures.get(f"{group.key}_year")
        source = figures.get(f"{group.key}_source") or figures.get("figures_source") or ""
        demo = bool(figures.get(f"{group.key}_demo", legacy_demo))
        for key in group.figures:
            value = value_of(figures, key)
            if value is None or value == "" or key not in labels:
                continue
            shown.append(Figure(key, labels[key], value, key in PERCENT, key in QUOTED,
                                key in COMPUTED, "" if year is None else str(year), str(source),
                                demo, group))
    return shown


def zone_rankings(zones) -> list[dict]:
    """Zones with a provincial rank, per assessment group, for the ranking chart: the bar is
    how many zones of the group rank below (a longer bar is a better rank)."""
    groups: dict[str, list] = {}
    for zone in zones:
        f = zone.figures or {}
        if isinstance(f.get("rank_province"), int) and isinstance(f.get("rank_group_size"), int):
            groups.setdefault(f.get("rank_group", ""), []).append(zone)
    result = []
    for name, members in groups.items():
        members.sort(key=lambda z: z.figures["rank_province"])
        first = members[0].figures
        result.append({"group": name, "size": first["rank_group_size"],
                       "year": str(first.get("rank_year", "")),
                       "source": first.get("rank_source") or "", "zones": members})
    return result


def batch_chart_rows(groups: dict[str, list]) -> dict[str, list[dict]]:
    """The 三个一批 groups (area · period) as chart rows: one row per group with a value per
    batch (签约/开工/投产) for project counts and for investment, and one row per rate."""
    from flask_babel import gettext as _

    from portal.labels import LABELS
    from portal.models.showcase import BATCHES

    projects, investment, rates = [], [], []
    for label, rows in groups.items():
        by_batch = {row.batch: row for row in rows}
        if len(by_batch) > 1:  # a single-batch group (a to-do list) says nothing as a bar set
            projects.append({"label": label, "values": [
                by_batch[b].projects if b in by_batch else None for b in BATCHES]})
            investment.append({"label": label, "values": [
                by_batch[b].investment_yi if b in by_batch else None for b in BATCHES]})
        for row in rows:
            if row.rate_percent is not None:
                name = _("%(group)s · %(batch)s · %(rate)s", group=label,
                         batch=LABELS["batch"][row.batch], rate=row.rate_name)
                if row.rate_is_quoted:
                    name = _("%(name)s（公布值）", name=name)
                rates.append({"label": name, "value": row.rate_percent,
                              "formula": row.rate_formula})
    return {"projects": projects, "investment": investment, "rates": rates}
