"""The edge's words for what an import did: the core returns counts and codes, these lines word
them from the catalogs (`error` context, through `kiemdiem.wording.say`).

The CLI words a report in the reader's language; the office's upload page in Vietnamese
(`contexts=WEB`), so one import reads the same in both doors.
"""

from __future__ import annotations

from collections.abc import Sequence

from kiemdiem.wording import CLI, say
from workflow.errors import Label, Problem
from workflow.progress import SHOWN, ProgressReport

INDENT = "  "


def progress_lines(report: ProgressReport, lang: str | None = None, contexts: Sequence[str] = CLI) -> list[str]:
    """A progress import's outcome, one sentence a line: what moved (or would), what was done
    before (each such row, up to `SHOWN`, then only how many more)."""
    counts = {"steps": report.steps, "units": report.units, "rows": report.rows}
    said = [("", Problem("progress.would_record" if report.dry_run else "progress.recorded", **counts))]
    if report.dry_run:
        said += [(INDENT, Problem("progress.step", line=line, code=code, before=before, after=after,
                                  label=Label(after))) for line, code, before, after in report.changes[:SHOWN]]
        if report.steps > SHOWN:
            said.append((INDENT, Problem("progress.more_steps", count=report.steps - len(report.changes[:SHOWN]))))
    said += [(INDENT, Problem("progress.units_moved", count=n, before=before, after=after))
             for (before, after), n in sorted(report.moves.items())]
    if report.also_moved:
        said.append((INDENT, Problem("progress.aggregated_with_parent", count=len(report.also_moved))))
    if report.already_done:
        said.append(("", Problem("progress.done_before", count=len(report.already_done))))
        said += [(INDENT, done) for done in report.already_done[:SHOWN]]
        if len(report.already_done) > SHOWN:
            said.append((INDENT, Problem("progress.more_rows", count=len(report.already_done) - SHOWN)))
    return [indent + say(problem, lang, contexts) for indent, problem in said]
