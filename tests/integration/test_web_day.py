"""The monitor for a day's work: which child is behind, search, sort and grouping of the late
list, one's own password (test_web_sessions.py), the plan in Vietnamese."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kiemdiem.web import monitor
from tests.integration.test_web_routes import logged_in
from tests.webdata import NOW, build
from workflow.models import Unit


@pytest.fixture
def app(db):
    return build(db)


def test_a_unit_page_shows_how_far_behind_each_child_is(app, db):
    html = logged_in(app, "tinh").get("/units/GL").text
    with db.session() as s:
        campaign = monitor.visible_campaign(s, None, "/")
        children = s.execute(select(Unit.code, Unit.path).where(
            Unit.parent_id == s.scalar(select(Unit.id).where(Unit.code == "GL")))).all()
        expected = {}
        for code, path in children:
            rows = monitor.late_rows(s, campaign, path, NOW, monitor.LateFilter(), limit=None)
            expected[code] = (len({r["unit"] for r in rows}), max((r["days_late"] for r in rows), default=None))
    assert any(n for n, _ in expected.values())  # the sample has a district that is behind
    for code, (late_units, worst) in expected.items():
        cell = re.search(rf'data-late-units="{code}">(\d+)</td><td class="num">([^<]+)</td>', html)
        assert cell, code
        assert int(cell.group(1)) == late_units, code
        assert cell.group(2) == (f"{worst} ngày" if worst is not None else "—"), code


def test_the_late_list_has_one_row_per_unit_with_its_late_stages_inside(app, db):
    html = logged_in(app, "tinh").get("/late").text
    rows = re.findall(r'<tr class="late-unit">.*?</tr>', html, re.S)
    codes = [re.search(r'href="/units/([^"]+)"', r).group(1) for r in rows]
    assert len(codes) == len(set(codes)) == 10  # the 10 late cells, each once
    with db.session() as s:
        campaign = monitor.visible_campaign(s, None, "/")
        pairs = monitor.late_rows(s, campaign, "/", NOW, monitor.LateFilter(), limit=None)
    for row, code in zip(rows, codes, strict=True):
        mine = [p for p in pairs if p["unit"] == code]
        assert row.count("<li>") == len(mine) and f">{max(p['days_late'] for p in mine)}</td>" in row
    assert re.search(r'id="late-count">(\d+)<', html).group(1) == str(len(pairs))


def test_the_late_list_searches_by_code_or_name_and_sorts_by_any_column(app):
    c = logged_in(app, "tinh")

    def codes(query: str) -> list[str]:
        html = c.get(f"/late?{query}").text
        return re.findall(r'<tr class="late-unit">\s*<td data-label="Đơn vị"><a href="/units/([^"]+)"', html)

    assert set(codes("q=gl-ts")) and all(code.startswith("GL-TS") for code in codes("q=gl-ts"))
    by_name = logged_in(app, "tinh").get("/late?q=Chi+b%E1%BB%99").text
    assert "late-unit" in by_name  # names match too ("Chi bộ …")
    assert codes("q=%25") == [] and codes("q=_") == []  # wildcards are plain characters
    assert re.search(r'id="late-count">0<', c.get("/late?q=khong-co-don-vi-nay").text)
    up, down = codes("sort=unit_asc"), codes("sort=unit_desc")
    assert up == sorted(up) and down == sorted(down, reverse=True) and up
    names = re.findall(r'<tr class="late-unit">\s*<td data-label="Đơn vị"><a href="[^"]+">([^<]+)</a>',
                       c.get("/late?sort=name_asc").text)
    assert names == sorted(names)
    assert c.get("/late?sort=secretary_asc").status_code == 400


def test_the_plan_page_shows_the_diagram_in_vietnamese(app):
    html = logged_in(app, "tinh").get("/plan").text
    diagram = html.split('id="mermaid"')[1].split("</pre>")[0]
    assert "họp chi bộ" in diagram and 'state &#34;Họp chi bộ kiểm điểm, xếp loại&#34; as cell_met' in diagram
    for english in ("prepare_reports", "submit_forms", "in_order", "reopen ["):
        assert english not in diagram
