"""Page numbers from query strings, and the slice of a list a page shows."""

from dataclasses import dataclass
from math import ceil

from flask import request

PER_PAGE = 20
MAX_PAGE = 10_000


def page_arg(name: str = "page") -> int:
    """The requested page, clamped to 1…MAX_PAGE; junk reads as page 1."""
    try:
        page = int(request.args.get(name, "1"))
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(select, page: int, per_page: int = PER_PAGE) -> Page:
    from portal.extensions import db

    result = db.paginate(select, page=page, per_page=per_page, error_out=False)
    return Page(list(result.items), page, per_page, result.total or 0)
