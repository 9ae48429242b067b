"""Results: the grounds of a lower rating, discipline by date, tasks completed, the collective's
own record and the counts of lowered ratings.

Revision ID: results_0002_grounds
Revises: results_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "results_0002_grounds"
down_revision = "results_0001"
branch_labels = None
depends_on = None

LOWERED = ("lower_quota", "lower_ground", "lower_other")
FLAGS = ("self_discovered", "probationary")
MEMBER_COLUMNS = (
    sa.Column("tasks_completed", sa.Integer),
    sa.Column("disciplined_on", sa.Date),
    sa.Column("kht_grounds", sa.String(255)),
    sa.Column("lower_reason", sa.String(32)),
    sa.Column("lower_reason_text", sa.String(1000)),
    sa.Column("shortcomings_fixed", sa.Boolean),
    sa.Column("units_target_met", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("unit_results") as table:
        for name in LOWERED:
            table.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
        table.add_column(sa.Column("collective_record", sa.JSON))
    with op.batch_alter_table("member_results") as table:
        for column in MEMBER_COLUMNS:
            table.add_column(column)
        for name in FLAGS:
            table.add_column(sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("member_results") as table:
        for name in (*(c.name for c in MEMBER_COLUMNS), *FLAGS):
            table.drop_column(name)
    with op.batch_alter_table("unit_results") as table:
        for name in (*LOWERED, "collective_record"):
            table.drop_column(name)
