"""The progress chart as server-rendered SVG: no JavaScript, readable on a phone.

A pure function of plain values (days, counts, labels), so it is tested without a database:
one step line per stage (the share of units owing the stage that had reached it by each day),
a dashed vertical line per deadline in the stage's colour, and a line for today. The legend
is HTML beside it (long Vietnamese labels wrap there, not in SVG).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 24

#: a colour per stage, distinguishable for the common kinds of colour blindness (Okabe–Ito)
COLOURS: dict[str, str] = {
    "reports_prepared": "#0072B2",
    "committee_met": "#E69F00",
    "cell_met": "#009E73",
    "forms_submitted": "#D55E00",
    "aggregated": "#CC79A7",
}


@dataclass(frozen=True)
class Marker:
    """A deadline drawn on the chart: its stage (for the colour), day and tooltip."""

    stage: str
    day: date
    label: str


def progress_svg(series: Mapping[str, Sequence[tuple[date, int]]], totals: Mapping[str, int],
                 markers: Sequence[Marker], start: date, end: date, today: date,
                 labels: Mapping[str, str]) -> Markup:
    """Render the chart; `series[stage]` is (day, cumulative count), ascending by day."""
    start = start - timedelta(days=1)
    end = max(end, start + timedelta(days=7)) + timedelta(days=1)
    span = (end - start).days
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return round(LEFT + plot_w * (day - start).days / span, 1)

    def y(share: float) -> float:
        return round(TOP + plot_h * (1 - share), 1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'class="chart" role="img" aria-labelledby="chart-title">',
           '<title id="chart-title">Tỷ lệ đơn vị đã hoàn thành từng giai đoạn theo ngày, '
           'so với các mốc thời hạn</title>']
    for pct in (0, 25, 50, 75, 100):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(pct / 100)}" y2="{y(pct / 100)}" '
                   f'class="grid"/><text x="{LEFT - 6}" y="{y(pct / 100) + 4}" '
                   f'text-anchor="end" class="axis">{pct}%</text>')
    step = max(1, span // 8)
    day = start + timedelta(days=1)
    while day < end:
        out.append(f'<text x="{x(day)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                   f'class="axis">{day:%d/%m}</text>')
        day += timedelta(days=step)
    for m in markers:
        colour = COLOURS.get(m.stage, "#555")
        out.append(f'<line x1="{x(m.day)}" x2="{x(m.day)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                   f'stroke="{colour}" class="deadline"><title>{escape(m.label)}</title></line>')
    if start <= today <= end:
        out.append(f'<line x1="{x(today)}" x2="{x(today)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                   f'class="today"/><text x="{x(today) + 3}" y="{TOP + 10}" class="axis">'
                   f'Hôm nay</text>')
    for stage, points in series.items():
        total = totals.get(stage, 0)
        colour = COLOURS.get(stage, "#555")
        path = _step_path(points, total, start, min(today, end), x, y)
        name = escape(labels.get(stage, stage))
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5">'
                   f'<title>{name}</title></path>')
    out.append("</svg>")
    return Markup("".join(out))


def _step_path(points: Sequence[tuple[date, int]], total: int, start: date, last: date,
               x: Callable[[date], float], y: Callable[[float], float]) -> str:
    """A step line from 0% at `start` through each day's cumulative share, held until `last`."""
    share = 0.0
    parts = [f"M{x(start)},{y(0)}"]
    for day, count in points:
        if day > last:
            break
        parts.append(f"H{x(day)}")
        share = count / total if total else 0.0
        parts.append(f"V{y(share)}")
    parts.append(f"H{x(last)}")
    return " ".join(parts)
