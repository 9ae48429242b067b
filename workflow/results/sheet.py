"""The results of one unit as plain values: its members (or only counts) and its own level.

Rules read a `Sheet`; `parse` builds one from a file and `store` from the database, so
the rules never see where the values came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from workflow.results.levels import ALL, NOT_CLASSIFIED

#: Why a member is not classified (the reports count each).
REASONS: tuple[str, ...] = ("new_member", "exempt", "suspended", "other")
REASON_NAME: dict[str, str] = {
    "new_member": "Đảng viên mới kết nạp chưa đủ 6 tháng",
    "exempt": "Miễn công tác và sinh hoạt đảng",
    "suspended": "Đình chỉ sinh hoạt đảng",
    "other": "Lý do khác",
}


@dataclass(frozen=True)
class Member:
    """One member's row of the results file; `line` is where it came from (0: the database)."""

    name: str
    level: str
    role: str | None = None
    is_head: bool = False
    votes_for: int | None = None
    full_members_voting: int | None = None
    score_general: float | None = None
    score_tasks: float | None = None
    tasks_total: int | None = None
    tasks_on_time: int | None = None
    tasks_exceeded: int | None = None
    #: done at all, on time or late (qd366 HT needs every task completed)
    tasks_completed: int | None = None
    admitted_on: date | None = None
    sick_leave_months: float | None = None
    maternity_leave: bool = False
    disciplined: bool = False
    exempt: bool = False
    suspended: bool = False
    absent: bool = False
    #: the day of the discipline: only one in the review year counts (a violation counts once)
    disciplined_on: date | None = None
    #: the organisation itself discovered and dealt with the violation (no KHT for it)
    self_discovered: bool = False
    #: codes of `grounds.KHT_GROUNDS`, separated by ';'
    kht_grounds: str | None = None
    #: why the level is below what score, gates, votes and caps allow (`grounds.LOWER_REASONS`)
    lower_reason: str | None = None
    lower_reason_text: str | None = None
    #: a probationary (dự bị) member does not vote on ratings
    probationary: bool = False
    #: qd366 HTXS extras: earlier shortcomings all fixed; for a leader, the units led at 100%
    #: with at least 30% exceeded. None: not stated
    shortcomings_fixed: bool | None = None
    units_target_met: bool | None = None
    #: a collective's own record only: a subordinate unit or leadership member disciplined
    subordinates_disciplined: bool = False
    line: int = 0

    @property
    def score(self) -> float | None:
        if self.score_general is None or self.score_tasks is None:
            return None
        return self.score_general + self.score_tasks


@dataclass(frozen=True)
class Counts:
    """How many members are at each level (keys: `levels.ALL`), with the not-classified reasons."""

    by_level: dict[str, int]
    reasons: dict[str, int] = field(default_factory=dict)
    #: ratings below the ceiling per kind of ground: quota, (KHT) ground, other
    lowered: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, level: str) -> int:
        return self.by_level.get(level, 0)

    @property
    def total(self) -> int:
        return sum(self.by_level.get(level, 0) for level in ALL)

    @property
    def rated(self) -> int:
        """Members who received one of the four levels."""
        return self.total - self[NOT_CLASSIFIED] - self["PENDING"]


@dataclass(frozen=True)
class Sheet:
    """One unit's results: `members` is None when only counts were kept."""

    counts: Counts
    members: tuple[Member, ...] | None = None
    collective_level: str | None = None
    founded_on: date | None = None
    #: the collective's own record (score, tasks, discipline), its `name` the unit's code
    collective: Member | None = None
