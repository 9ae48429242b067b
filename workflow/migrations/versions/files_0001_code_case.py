"""Unit codes in one form: upper case, as `units import` and every look-up now write them.

Codes were compared as typed, so `gl-ts` and `GL-TS` could be two units. A database holding
two codes that differ only in case cannot be upgraded silently: the migration stops and
names them, so the office decides which one is meant (rename one by re-importing it).

Revision ID: files_0001_code_case
Revises: 0003_outbox_without_foreign_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "files_0001_code_case"
down_revision = "0003_outbox_without_foreign_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    clashes = conn.execute(sa.text(
        "SELECT upper(code) FROM units GROUP BY upper(code) HAVING count(*) > 1 ORDER BY 1 LIMIT 10"
    )).scalars().all()
    if clashes:
        raise RuntimeError("unit codes that differ only in letter case: "
                           f"{', '.join(clashes)}; rename one of each pair and run `init` again")
    conn.execute(sa.text("UPDATE units SET code = upper(code) WHERE code <> upper(code)"))


def downgrade() -> None:
    """Nothing to undo: upper-case codes are valid codes for the older versions too."""
