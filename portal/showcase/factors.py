"""要素成本 on the showcase: a comparison across the city's counties, districts and zones,
and one region's own figures.

Every figure is read from ``factor_cost`` rows (the data pack or the back office), never
typed into a template, and goes out with its year and source. In the comparison table the
first figure of a category in a region (lowest ``sort_order``) stands for that category:
the pack lists the comparable one first (大工业用电 1-10千伏 before the other classes).
"""

from collections import Counter
from dataclasses import dataclass, field

from portal.extensions import db
from portal.models import FACTOR_CATEGORIES, FactorCost, Region

# Region kinds in the comparison, in this order: the city, its counties and districts, zones.
COMPARED_KINDS = ("city", "district", "county", "zone")
# Region kinds drawn in the comparison charts: one bar each, all of the same standing.
CHARTED_KINDS = ("district", "county")


@dataclass
class Source:
    """One numbered source note under the comparison table."""

    number: int
    factor: FactorCost  # the first figure citing it, whose (translated) text is shown


@dataclass
class Comparison:
    categories: list[str]
    rows: list[tuple[Region, dict[str, FactorCost]]]
    sources: list[Source] = field(default_factory=list)
    numbers: dict[int, int] = field(default_factory=dict)  # factor id → source number
    # The item most figures of a column share (in the page's language): said once in the
    # column's header, and in a cell only where that cell's item differs.
    common_items: dict[str, str] = field(default_factory=dict)

    def source_number(self, factor: FactorCost) -> int:
        return self.numbers[factor.id]

    def chart_rows(self, category: str) -> list[dict]:
        """One bar per county or district for ``category`` (the table has the city's range
        and the zones), all in the unit of the first one: a region quoting another unit is
        left out rather than drawn on the wrong scale."""
        found = self._charted(category)
        unit = found[0].unit if found else None
        return [{"label": f.region.tr("name"), "value": f.value} for f in found
                if f.unit == unit]

    def chart_unit(self, category: str) -> str:
        found = self._charted(category)
        return found[0].tr("unit") if found else ""

    def _charted(self, category: str) -> list[FactorCost]:
        return [cells[category] for region, cells in self.rows
                if region.kind in CHARTED_KINDS and category in cells]

    def own_item(self, factor: FactorCost) -> bool:
        return factor.tr("item") != self.common_items.get(factor.category)

    @staticmethod
    def all_demo(cells: dict[str, FactorCost]) -> bool:
        """A row whose figures are all demo data is marked once, at its region."""
        return all(f.is_demo for f in cells.values())

    @property
    def every_demo(self) -> bool:
        """Every figure in the table is demo data: said once, above it."""
        return bool(self.rows) and all(self.all_demo(cells) for _region, cells in self.rows)

    @property
    def has_demo(self) -> bool:
        return any(f.is_demo for _region, cells in self.rows for f in cells.values())


def _factors(stmt) -> list[FactorCost]:
    return list(db.session.scalars(stmt.order_by(FactorCost.sort_order, FactorCost.id)))


def comparison(root: Region | None = None) -> Comparison:
    """Rows = the city and the regions below it that have factor costs; columns = the
    categories any of them has; a cell = that region's first figure of the category."""
    regions = {r.id: r for r in db.session.scalars(
        db.select(Region).where(Region.kind.in_(COMPARED_KINDS)))}
    cells: dict[int, dict[str, FactorCost]] = {}
    for factor in _factors(db.select(FactorCost).where(FactorCost.region_id.in_(regions))):
        cells.setdefault(factor.region_id, {}).setdefault(factor.category, factor)
    order = {kind: n for n, kind in enumerate(COMPARED_KINDS)}
    order["county"] = order["district"]  # counties and districts side by side, pack order
    rows = sorted(((regions[rid], found) for rid, found in cells.items()),
                  key=lambda pair: (order[pair[0].kind], pair[0].sort_order, pair[0].id))
    present = {c for _region, found in rows for c in found}
    table = Comparison([c for c in FACTOR_CATEGORIES if c in present], rows)
    for category in table.categories:
        items = Counter(found[category].tr("item") for _region, found in rows
                        if category in found)
        text, count = items.most_common(1)[0]
        if count * 2 > sum(items.values()):
            table.common_items[category] = text
    _number_sources(table, [f for _region, found in rows for c in table.categories
                            if (f := found.get(c)) is not None])
    return table


def _number_sources(table: Comparison, factors: list[FactorCost]) -> None:
    """One number per distinct source (text and address, in the page's language), in the
    order the table reads: row by row, column by column."""
    seen: dict[tuple[str, str], int] = {}
    for factor in factors:
        key = (factor.tr("source"), factor.source_url or "")
        if key not in seen:
            seen[key] = len(seen) + 1
            table.sources.append(Source(seen[key], factor))
        table.numbers[factor.id] = seen[key]


def for_region(region: Region) -> list[tuple[str, list[FactorCost]]]:
    """A region's own figures, grouped by category in the pages' order."""
    groups: dict[str, list[FactorCost]] = {}
    for factor in _factors(db.select(FactorCost).where(FactorCost.region_id == region.id)):
        groups.setdefault(factor.category, []).append(factor)
    return [(c, groups[c]) for c in FACTOR_CATEGORIES if c in groups]
