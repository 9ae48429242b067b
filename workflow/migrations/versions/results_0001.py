"""Results: unit_results (counts per level, validity) and member_results (confidential).

Revision ID: results_0001
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "results_0001"
down_revision = "0001_core"
branch_labels = ("results",)
depends_on = None

TS = sa.DateTime(timezone=True)
COUNTS = ("count_htxs", "count_htt", "count_ht", "count_kht", "count_not_classified", "count_pending",
          "nc_new_member", "nc_exempt", "nc_suspended", "nc_other")


def upgrade() -> None:
    op.create_table(
        "unit_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cycle_id", sa.Integer, sa.ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("collective_level", sa.String(16)),
        sa.Column("founded_on", sa.Date),
        sa.Column("review_date", sa.Date, nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in COUNTS),
        sa.Column("supplement", sa.Boolean, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("violations", sa.JSON, nullable=False),
        sa.Column("rule_set", sa.String(16), nullable=False),
        sa.Column("excellent_quota", sa.Float, nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "member_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("unit_result_id", sa.Integer, sa.ForeignKey("unit_results.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(255)),
        sa.Column("is_head", sa.Boolean, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("votes_for", sa.Integer),
        sa.Column("full_members_voting", sa.Integer),
        sa.Column("score_general", sa.Float),
        sa.Column("score_tasks", sa.Float),
        sa.Column("tasks_total", sa.Integer),
        sa.Column("tasks_on_time", sa.Integer),
        sa.Column("tasks_exceeded", sa.Integer),
        sa.Column("admitted_on", sa.Date),
        sa.Column("sick_leave_months", sa.Float),
        *(sa.Column(name, sa.Boolean, nullable=False)
          for name in ("maternity_leave", "disciplined", "exempt", "suspended", "absent", "supplement")),
        sa.UniqueConstraint("unit_result_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("member_results")
    op.drop_table("unit_results")
