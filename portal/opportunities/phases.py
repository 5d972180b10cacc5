"""揭榜挂帅 phases as a visitor reads them: which phase a challenge is in today, computed
from the stored dates (nothing about "current" is stored, so it can never be stale)."""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from portal.labels import LABELS
from portal.models.opportunities import CHALLENGE_PHASES

# What happens in each phase, shown beside the current one.
DESCRIPTIONS = {
    "publish": _l("发榜方公布攻关任务、榜单金额和揭榜条件。"),
    "apply": _l("符合条件的单位在截止日期前提交揭榜申报材料。"),
    "review": _l("组织专家评审揭榜方案，择优确定拟揭榜单位。"),
    "notice": _l("拟揭榜单位名单向社会公示，接受社会监督。"),
    "award": _l("公示无异议后正式授榜，签订任务书，启动攻关。"),
}


@dataclass
class Phase:
    code: str
    starts: date
    ends: date | None
    state: str  # "done", "current" or "upcoming"

    @property
    def label(self) -> str:
        return str(LABELS["challenge_phase"][self.code])

    @property
    def description(self) -> str:
        return str(DESCRIPTIONS[self.code])

    def over(self, today: date) -> bool:
        """The current phase whose end has passed while the next has not begun."""
        return self.ends is not None and self.ends < today


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def timeline(item, today: date) -> list[Phase]:
    """The item's phases in order with their state today; empty for anything but a challenge
    with phases. The current phase is the last one that has started."""
    if item.kind != "challenge":
        return []
    rows = []
    for entry in item.phases or []:
        code, starts = entry.get("phase"), _day(entry.get("starts"))
        if code in CHALLENGE_PHASES and starts is not None:
            rows.append(Phase(code, starts, _day(entry.get("ends")), "upcoming"))
    rows.sort(key=lambda p: (CHALLENGE_PHASES.index(p.code), p.starts))
    started = [i for i, p in enumerate(rows) if p.starts <= today]
    if started:
        current = started[-1]
        for i, phase in enumerate(rows[:current + 1]):
            phase.state = "current" if i == current else "done"
    return rows


def current(item, today: date) -> Phase | None:
    return next((p for p in timeline(item, today) if p.state == "current"), None)


def following(phases: list[Phase]) -> Phase | None:
    """The first phase that has not begun."""
    return next((p for p in phases if p.state == "upcoming"), None)
