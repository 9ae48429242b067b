"""What a cycle owes has one definition: `workflow.stages.owes` in Python and
`workflow.queries.owes` in SQL. Spread over every state and every kind of flow of the sample
tree, the SQL's owed deadlines are exactly the Python's, on both databases."""

from __future__ import annotations

from itertools import cycle as repeat

from sqlalchemy import select, update

from tests.helpers import seeded
from workflow.lookup import get_campaign
from workflow.models import Cycle, Milestone, Unit
from workflow.queries import owed_deadlines
from workflow.stages import RANK, STAGES, owes


def test_the_sql_owes_exactly_what_the_python_owes(db):
    seeded(db.url)
    with db.session(write=True) as s:
        ids = s.scalars(select(Cycle.id).order_by(Cycle.id)).all()
        for cycle_id, state in zip(ids, repeat(STAGES), strict=False):
            s.execute(update(Cycle).where(Cycle.id == cycle_id).values(state=state, stage_rank=RANK[state]))
    with db.session() as s:
        campaign = get_campaign(s, 2026)
        owed = {(r.cycle_id, r.stage) for r in s.execute(owed_deadlines(campaign))}
        expected = {
            (c.id, m.stage)
            for c, level in s.execute(select(Cycle, Unit.level).join(Unit, Unit.id == Cycle.unit_id)
                                      .where(Unit.active.is_(True)))
            for m in s.scalars(select(Milestone).where(Milestone.campaign_id == campaign.id,
                                                       Milestone.level == level))
            if owes(c.state, c.stages_mask, m.stage)}
        states = {state for state, in s.execute(select(Cycle.state).distinct())}
        masks = {mask for mask, in s.execute(select(Cycle.stages_mask).distinct())}
    assert states == set(STAGES) and len(masks) >= 3  # every state, several kinds of flow
    assert owed == expected and owed
