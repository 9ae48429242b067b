"""The progress chart is a pure function: valid SVG, lines that end today, escaped labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from kiemdiem.web.chart import Marker, progress_svg

NS = "{http://www.w3.org/2000/svg}"


def _svg(**overrides):
    args = dict(
        series={"reports_prepared": [(date(2026, 11, 5), 2), (date(2026, 11, 9), 4)]},
        totals={"reports_prepared": 8},
        markers=[Marker("reports_prepared", date(2026, 11, 10), "Chi bộ <b> — hạn 10/11/2026")],
        start=date(2026, 10, 20), end=date(2026, 12, 20), today=date(2026, 11, 21),
        labels={"reports_prepared": "Chuẩn bị báo cáo"},
    )
    args.update(overrides)
    return ET.fromstring(str(progress_svg(**args)))


def test_draws_a_step_line_per_stage_a_marker_per_deadline_and_today():
    root = _svg()
    paths = root.findall(f"{NS}path")
    assert len(paths) == 1
    d = paths[0].get("d").split()
    assert d[0].startswith("M") and d[-1].startswith("H")
    heights = [float(p[1:]) for p in d if p.startswith("V")]
    assert heights[0] > heights[1]  # 25% then 50%: the line climbs
    deadlines = [line for line in root.findall(f"{NS}line") if line.get("class") == "deadline"]
    assert len(deadlines) == 1
    assert deadlines[0].find(f"{NS}title").text == "Chi bộ <b> — hạn 10/11/2026"  # escaped, intact
    assert any(line.get("class") == "today" for line in root.findall(f"{NS}line"))


def test_a_stage_nobody_owes_stays_at_zero_and_future_points_are_not_drawn():
    root = _svg(series={"cell_met": [(date(2026, 12, 1), 3)]}, totals={"cell_met": 0})
    d = root.find(f"{NS}path").get("d")
    assert "V" not in d  # the point after today is not drawn; no division by zero


def test_today_outside_the_range_draws_no_today_line():
    root = _svg(today=date(2027, 6, 1), end=date(2026, 12, 20))
    assert not any(line.get("class") == "today" for line in root.findall(f"{NS}line"))
