"""Generate a national unit tree, its plan and its member counts, for benchmarks.

    python -m benchmarks.generate --units 300000 --seed 2026 [--variant 2025|four_tier] [--out DIR]

writes `units.csv` (the import format of the README), `plan.yaml` (a plan for `--year`),
`members.csv` (`code,members` for every cell) and `summary.json` (counts per level, the
widest fan-outs). The shape follows the 2025 reorganisation: 34 provinces; under each its
communes and wards (level `base`, directly under the province) and four bloc committees
(level `district`: party bodies, the government, police, military) with agency bases and
directly attached cells; cells under every base. `four_tier` puts districts (huyện) between
province and communes, as before 2025. Everything scales with `--units`: the skeleton
(communes, agencies) shrinks in proportion and the remaining budget goes to cells with a
heavy-tailed fan-out, so the total is exactly `--units` and the members total ~5.6 million
per 300,000 units. The same seed always writes the same files.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path

from benchmarks import names

NATIONAL_UNITS = 300_000
NATIONAL_MEMBERS = 5_600_000
#: bloc and district children (agency bases and directly attached cells) at national scale
NATIONAL_AGENCIES = 24_000
#: districts and communes before 2025, for the four-tier variant
NATIONAL_DISTRICTS = 696
NATIONAL_COMMUNES_FOUR_TIER = 10_035
VARIANTS = ("2025", "four_tier")
COLUMNS = ("code", "name", "level", "parent", "secretary", "email", "zalo_user_id", "phone",
           "has_committee")
#: a cell with at least this many members elects a committee (chi ủy)
COMMITTEE_MIN_MEMBERS = 9
MIN_CELL_MEMBERS = 3


@dataclass
class Summary:
    """What was written, for the benchmarks and for a reader of RESULTS.md."""

    variant: str
    seed: int
    units: int
    members: int
    by_level: dict[str, int]
    max_fanout: int
    units_over_250_children: int
    seconds: float
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class _Node:
    """A unit of the skeleton; `cells` > 0 for a base (or district) that gets generated cells."""

    code: str
    name: str
    level: str
    parent: str | None
    kind: str  # what its cells are named after: commune, ward, agency, direct
    weight: float = 0.0  # its share of the cell budget
    village: str = "thôn"
    place: str = ""
    cells: int = 0


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split `total` into integers proportional to `weights`, each at least `minimum`.

    Largest remainders, so the parts add up to `total` exactly.
    """
    rest = total - minimum * len(weights)
    if rest < 0:
        raise ValueError(f"{total} cannot give {len(weights)} parts at least {minimum} each")
    scale = rest / sum(weights)
    raw = [w * scale for w in weights]
    parts = [int(r) for r in raw]
    short = rest - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])[:short]:
        parts[i] += 1
    return [p + minimum for p in parts]


class _Country:
    """Draws the tree with one seeded random stream, in a fixed order (hence deterministic)."""

    def __init__(self, units: int, seed: int, variant: str) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant '{variant}' (variants: {', '.join(VARIANTS)})")
        self.rng = random.Random(seed)
        self.units = units
        self.variant = variant
        self.scale = units / NATIONAL_UNITS
        self.nodes: list[_Node] = []
        self._surnames = [s for s, _ in names.SURNAMES]
        self._surname_cum = list(accumulate(w for _, w in names.SURNAMES))

    # -- names ---------------------------------------------------------------------------
    def place(self) -> str:
        a, b = self.rng.sample(names.PLACE_SYLLABLES, 2)
        return f"{a} {b}"

    def person(self) -> str:
        rng = self.rng
        surname = self._surnames[bisect.bisect(self._surname_cum, rng.random() * self._surname_cum[-1])]
        if rng.random() < 0.6:
            return f"{surname} {rng.choice(names.MALE_MIDDLE)} {rng.choice(names.MALE_GIVEN)}"
        return f"{surname} {rng.choice(names.FEMALE_MIDDLE)} {rng.choice(names.FEMALE_GIVEN)}"

    # -- the skeleton --------------------------------------------------------------------
    def skeleton(self) -> None:
        """Provinces, blocs (and districts), communes and agencies, with cell-budget weights."""
        total_communes = sum(p.communes for p in names.PROVINCES)
        for province in names.PROVINCES:
            share = province.communes / total_communes
            pnode = self._add(province.code, _province_name(province), "province", None, "root")
            agencies = max(4, round(NATIONAL_AGENCIES * self.scale * share * (1.5 if province.city else 1)))
            if self.variant == "2025":
                self._blocs_2025(province, pnode, agencies)
                self._communes(province, pnode.code, max(1, round(province.communes * self.scale)),
                               province.wards / province.communes, province.special_zones)
            else:
                self._four_tier(province, pnode, agencies, share)

    def _add(self, code: str, name: str, level: str, parent: str | None, kind: str,
             weight: float = 0.0, village: str = "thôn", place: str = "") -> _Node:
        node = _Node(code, name, level, parent, kind, weight, village, place)
        self.nodes.append(node)
        return node

    def _blocs_2025(self, province: names.Province, pnode: _Node, agencies: int) -> None:
        where = "thành phố" if province.city else "tỉnh"
        blocs = (
            ("CQD", f"Đảng ủy các cơ quan Đảng {where} {province.name}",
             _for_city(names.PARTY_BODIES, province), 0.2),
            ("UB", f"Đảng ủy Ủy ban nhân dân {where} {province.name}",
             _for_city(names.GOVERNMENT_AGENCIES, province), 0.4),
            ("CA", f"Đảng ủy Công an {where} {province.name}", names.POLICE_UNITS, 0.2),
            ("QS", f"Đảng ủy Quân sự {where} {province.name}", names.MILITARY_UNITS, 0.2),
        )
        for part, count in zip(blocs, apportion(agencies, [b[3] for b in blocs], 1), strict=True):
            suffix, name, bodies, _ = part
            bloc = self._add(f"{pnode.code}-{suffix}", name, "district", pnode.code, "bloc")
            self._agencies(bloc, bodies, count)

    def _four_tier(self, province: names.Province, pnode: _Node, agencies: int, share: float) -> None:
        where = "thành phố" if province.city else "tỉnh"
        half = agencies // 2
        for suffix, name, bodies in (
            ("KCQ", f"Đảng bộ Khối các cơ quan {where} {province.name}", names.GOVERNMENT_AGENCIES),
            ("KDN", f"Đảng bộ Khối Doanh nghiệp {where} {province.name}", names.ENTERPRISES),
        ):
            bloc = self._add(f"{pnode.code}-{suffix}", name, "district", pnode.code, "bloc")
            self._agencies(bloc, bodies, max(1, half // 2))
        districts = max(1, round(NATIONAL_DISTRICTS * self.scale * share))
        communes = apportion(max(districts, round(NATIONAL_COMMUNES_FOUR_TIER * self.scale * share)),
                             [self.rng.uniform(0.6, 1.4) for _ in range(districts)], 1)
        extra = apportion(max(districts, agencies - half), [1.0] * districts, 1)
        for d in range(districts):
            place = self.place()
            kind = "thị xã" if d % 7 == 3 else ("thành phố" if d == 0 else "huyện")
            dnode = self._add(f"{pnode.code}-H{d + 1:02d}", f"Đảng bộ {kind} {place}", "district",
                              pnode.code, "district")
            self._communes(province, dnode.code, communes[d], province.wards / province.communes, ())
            self._agencies(dnode, names.SCHOOLS + names.GOVERNMENT_AGENCIES[:6], extra[d])

    def _agencies(self, owner: _Node, bodies: tuple[str, ...], count: int) -> None:
        """Bases of agencies under a bloc or district, and about one cell in five attached directly."""
        rng = self.rng
        for i in range(count):
            body = bodies[i] if i < len(bodies) else f"{rng.choice(bodies)} {self.place()}"
            code = f"{owner.code}-{i + 1:03d}"
            if rng.random() < 0.2:
                self._add(code, f"Chi bộ {body}", "cell", owner.code, "direct",
                          weight=rng.lognormvariate(2.7, 0.5))
            else:
                self._add(code, f"Đảng bộ {body}", "base", owner.code, "agency",
                          weight=rng.lognormvariate(1.2, 0.6))

    def _communes(self, province: names.Province, parent: str, count: int, ward_share: float,
                  special: tuple[str, ...]) -> None:
        rng = self.rng
        seen: set[str] = set()
        for i in range(count):
            if i < len(special):
                kind, title, place = "commune", "đặc khu", special[i]
            else:
                ward = rng.random() < ward_share
                kind, title = ("ward", "phường") if ward else ("commune", "xã")
                place = self.place()
                while place in seen:
                    place = self.place()
            seen.add(place)
            # a ward of a city has many quarters: the heaviest tail of the tree
            weight = rng.lognormvariate(3.5, 0.75) * (2.0 if kind == "ward" else 1.0)
            prefix = {"phường": "P", "xã": "X", "đặc khu": "DK"}[title]
            village = ("khu phố" if province.region == "ấp" else "tổ dân phố") if kind == "ward" \
                else province.region
            self._add(f"{parent}-{prefix}{i + 1:03d}", f"Đảng bộ {title} {place}", "base", parent,
                      kind, weight=weight, village=village, place=place)

    # -- cells ---------------------------------------------------------------------------
    def cells(self) -> list[tuple[_Node, str, str, float]]:
        """Share the remaining budget among the bases; name each cell; weigh its members."""
        owners = [n for n in self.nodes if n.kind in ("commune", "ward", "agency")]
        budget = self.units - len(self.nodes)
        if budget < 2 * len(owners):
            raise ValueError(f"--units {self.units} is too small for 34 provinces: "
                             f"use at least {len(self.nodes) + 2 * len(owners)}")
        counts = apportion(budget, [n.weight for n in owners], 2)
        cells: list[tuple[_Node, str, str, float]] = []
        rng = self.rng
        for owner, count in zip(owners, counts, strict=True):
            owner.cells = count
            width = 3 if count > 99 else 2
            for j in range(count):
                name, weight = self._cell_name(owner, j, count)
                cells.append((owner, f"{owner.code}-{j + 1:0{width}d}", name,
                              weight * rng.lognormvariate(0, 0.6)))
        return cells

    def _cell_name(self, owner: _Node, j: int, count: int) -> tuple[str, float]:
        """Return a cell's name and its members weight: villages are big, offices small."""
        if owner.kind == "agency":
            dept = names.DEPARTMENTS[j % len(names.DEPARTMENTS)]
            turn = j // len(names.DEPARTMENTS)
            return f"Chi bộ {dept}{f' {turn + 1}' if turn else ''}", 8.0
        bodies = names.COMMUNE_BODIES[: max(2, min(len(names.COMMUNE_BODIES), count // 4))]
        if j < len(bodies):
            body = bodies[j]
            return f"Chi bộ {body} {owner.place}" if body.startswith("Trường") else f"Chi bộ {body}", 10.0
        number = j - len(bodies) + 1
        if owner.kind == "ward" or self.rng.random() < 0.5:
            return f"Chi bộ {owner.village} {number}", 30.0
        return f"Chi bộ {owner.village} {self.place()}", 30.0


def _for_city(bodies: tuple[str, ...], province: names.Province) -> tuple[str, ...]:
    """Say "Thành ủy", "thành phố" in a city's agency names where a province says "Tỉnh ủy", "tỉnh"."""
    if not province.city:
        return bodies
    return tuple(b.replace("Tỉnh ủy", "Thành ủy").replace(" tỉnh", " thành phố") for b in bodies)


def _province_name(province: names.Province) -> str:
    return f"Đảng bộ {'thành phố' if province.city else 'tỉnh'} {province.name}"


class _Contacts:
    """Secretaries, e-mail addresses, phones and Zalo ids; some units lack some of them."""

    def __init__(self, country: _Country) -> None:
        self.country = country
        self.rng = country.rng
        self.serial = 0
        self.domains = {p.code: f"{p.slug}.example.vn" for p in names.PROVINCES}

    def row(self, node_code: str, province: str) -> tuple[str, str, str, str]:
        rng = self.rng
        self.serial += 1
        secretary = self.country.person()
        email = f"{node_code.lower().replace('-', '.')}@{self.domains[province]}" \
            if rng.random() < 0.85 else ""
        # 7919 is prime to 10**8, so serials give distinct numbers
        phone = f"{'09' if rng.random() < 0.6 else '03'}{(self.serial * 7919) % 10**8:08d}" \
            if rng.random() < 0.9 else ""
        zalo = str(rng.randrange(10**18, 10**19)) if rng.random() < 0.3 else ""
        return secretary, email, zalo, phone


def plan_text(year: int) -> str:
    """A plan of the README's shape for `year`, with the seeds' dates."""
    return f"""\
# Kế hoạch kiểm điểm, đánh giá, xếp loại chất lượng năm {year} (sinh bởi benchmarks/generate.py)
year: {year}
title: "Kiểm điểm, đánh giá, xếp loại chất lượng năm {year}"
timezone: Asia/Ho_Chi_Minh
rule_set: qd366
deadlines:
  cell:
    reports_prepared: {{before: {year}-11-10}}
    cell_met: {{by: {year}-11-16}}
    forms_submitted: {{before: {year}-11-20}}
  base:
    committee_met: {{before: {year}-12-01}}
    forms_submitted: {{before: {year}-12-05}}
  district:
    forms_submitted: {{before: {year}-12-20}}
  province:
    forms_submitted: {{before: {year + 1}-01-20}}
reminders_days_before: [7, 3, 1]
late:
  repeat_every_days: 2
  escalate_after_days: 3
  escalate_to: [parent_secretary, office]
  office_email: bantochuc@tinhuy.example.vn
quiet_hours: {{start: "21:00", end: "07:00"}}
holidays: {{shift_to_working_day: false, calendar: vn}}
excellent_quota: 0.20
"""


def generate(out_dir: Path, units: int = NATIONAL_UNITS, seed: int = 2026, variant: str = "2025",
             year: int = 2026) -> Summary:
    """Write units.csv, members.csv, plan.yaml and summary.json into `out_dir`."""
    started = time.perf_counter()
    country = _Country(units, seed, variant)
    country.skeleton()
    cells = country.cells()
    target = round(NATIONAL_MEMBERS * units / NATIONAL_UNITS)
    direct = [n for n in country.nodes if n.kind == "direct"]
    members = apportion(target, [w for *_, w in cells] + [n.weight for n in direct], MIN_CELL_MEMBERS)
    members_of = {code: m for (_, code, _, _), m in zip(cells, members[:len(cells)], strict=True)}
    members_of.update((n.code, m) for n, m in zip(direct, members[len(cells):], strict=True))
    by_owner: dict[str, list[tuple[str, str]]] = {}
    for owner, code, name, _ in cells:
        by_owner.setdefault(owner.code, []).append((code, name))

    out_dir.mkdir(parents=True, exist_ok=True)
    contacts = _Contacts(country)
    levels: Counter[str] = Counter()
    children: Counter[str] = Counter()
    with (out_dir / "units.csv").open("w", encoding="utf-8", newline="") as units_file, \
            (out_dir / "members.csv").open("w", encoding="utf-8", newline="") as members_file:
        unit_rows = csv.writer(units_file, lineterminator="\n")
        member_rows = csv.writer(members_file, lineterminator="\n")
        unit_rows.writerow(COLUMNS)
        member_rows.writerow(("code", "members"))

        def write(code: str, name: str, level: str, parent: str | None, committee: bool) -> None:
            province = code.split("-", 1)[0]
            unit_rows.writerow((code, name, level, parent or "", *contacts.row(code, province),
                                "yes" if committee else "no"))
            levels[level] += 1
            if parent:
                children[parent] += 1

        for node in country.nodes:
            if node.level == "cell":
                count = members_of[node.code]
                write(node.code, node.name, "cell", node.parent, count >= COMMITTEE_MIN_MEMBERS)
                member_rows.writerow((node.code, count))
                continue
            write(node.code, node.name, node.level, node.parent, True)
            for code, name in by_owner.get(node.code, ()):
                count = members_of[code]
                write(code, name, "cell", node.code, count >= COMMITTEE_MIN_MEMBERS)
                member_rows.writerow((code, count))
    (out_dir / "plan.yaml").write_text(plan_text(year), encoding="utf-8")
    summary = Summary(
        variant=variant, seed=seed, units=sum(levels.values()), members=sum(members),
        by_level=dict(levels), max_fanout=max(children.values()),
        units_over_250_children=sum(1 for c in children.values() if c > 250),
        seconds=round(time.perf_counter() - started, 2),
        files={k: str(out_dir / f) for k, f in
               (("units", "units.csv"), ("members", "members.csv"), ("plan", "plan.yaml"))},
    )
    (out_dir / "summary.json").write_text(json.dumps(asdict(summary), ensure_ascii=False, indent=2),
                                          encoding="utf-8")
    return summary


def default_out(units: int, seed: int, variant: str) -> Path:
    return Path("benchmarks/data") / f"{variant}-{units}-s{seed}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=NATIONAL_UNITS, help="units in all (default 300000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--variant", choices=VARIANTS, default="2025",
                        help="2025: communes under provinces; four_tier: with districts")
    parser.add_argument("--year", type=int, default=2026, help="the plan's year (default 2026)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default benchmarks/data/<variant>-<units>-s<seed>)")
    args = parser.parse_args(argv)
    out = args.out or default_out(args.units, args.seed, args.variant)
    try:
        summary = generate(out, args.units, args.seed, args.variant, args.year)
    except ValueError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    levels = ", ".join(f"{k} {v:,}" for k, v in summary.by_level.items())
    print(f"{out}: {summary.units:,} units ({levels}); {summary.members:,} members; "
          f"widest fan-out {summary.max_fanout}, {summary.units_over_250_children} units with "
          f"more than 250 children; {summary.seconds} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
