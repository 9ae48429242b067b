"""The benchmark harness: timings of commands, targets and ratios, RESULTS.md sections."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.harness import (
    CommandFailed,
    Line,
    Report,
    Timing,
    time_callable,
    time_command,
    update_section,
)


def test_a_command_is_timed_per_run_with_its_own_peak_memory() -> None:
    small = time_command([sys.executable, "-c", "pass"], runs=2)
    big = time_command([sys.executable, "-c", "x = bytearray(80 * 1024 * 1024); print('ok')"], runs=1)
    assert len(small.seconds) == 2 and small.min <= small.median <= small.max
    assert big.peak > small.peak + 60
    assert big.output.strip() == "ok"


def test_a_failing_command_is_an_error_not_a_figure() -> None:
    with pytest.raises(CommandFailed, match="boom"):
        time_command([sys.executable, "-c", "import sys; sys.exit('boom')"], runs=1)


def test_a_callable_is_timed_and_setup_is_not() -> None:
    calls: list[str] = []
    timing = time_callable(lambda: calls.append("run"), runs=3, label="x",
                           setup=lambda: calls.append("setup"))
    assert calls == ["setup", "run"] * 3 and len(timing.peak_mb) == 3


def test_targets_and_ratio_are_judged_on_the_median() -> None:
    base = Timing("base", [0.1, 0.1, 0.1])
    slow = Timing("op", [0.2, 0.35, 9.0], [50.0])
    assert Line("op", slow, limit_s=0.5, baseline=base, max_ratio=3).met is False  # 3.5×
    assert Line("op", slow, limit_s=0.5, baseline=base, max_ratio=4).met is True
    assert Line("op", slow, limit_mb=40).met is False
    assert Line("op", slow).met is None


def test_sections_are_replaced_in_place_and_others_kept(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    update_section(results, "a", "first A")
    update_section(results, "b", "only B")
    update_section(results, "a", "second A")
    text = results.read_text()
    assert "second A" in text and "first A" not in text and "only B" in text
    assert text.index("second A") < text.index("only B")
    report = Report("c", "Title C", command="make bench")
    report.add("op", Timing("op", [1.0, 2.0, 3.0], [10.0]), limit_s=2.5)
    report.write(results)
    assert "| op | 3 | 1.000 | 2.000 | 3.000 | 10 | — | — | < 2.5 s | yes |" in results.read_text()
    fast = Report("d", "Title D", command="make bench", unit="ms")
    fast.add("page", Timing("page", [0.2, 0.25, 0.3], [90.0]), limit_s=0.5,
             baseline=Timing("bare SQL", [0.1, 0.1, 0.1]))
    fast.write(results)
    assert "| page | 3 | 200.0 | 250.0 | 300.0 | 90 | 100.0 (bare SQL) | 2.50 | < 500 ms | yes |" \
        in results.read_text()


def test_the_summary_lists_every_target_of_every_section_and_nothing_else(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    first = Report("one", "Core", command="make bench")
    first.add("import", Timing("import", [1.0, 2.0, 3.0], [10.0]), limit_s=60)
    first.add("untargeted", Timing("x", [1.0], [1.0]))
    first.write(results)
    second = Report("two", "Sweep", command="make bench")
    second.add("no-op sweep", Timing("s", [4.0]), baseline=Timing("bare", [1.0]), max_ratio=3)
    second.write(results)
    text = results.read_text()
    table = text.split("<!-- bench:summary -->")[1].split("<!-- /bench:summary -->")[0]
    assert "| Core | import | 2.000 | 10 | — | < 60 s | yes |" in table
    assert "| Sweep | no-op sweep | 4.000 | 0 | 4.00 | ≤ 3× baseline | **no** |" in table
    assert "untargeted" not in table
    third = Report("three", "Web", command="make bench", unit="ms")
    third.add("page", Timing("page", [0.25], [90.0]), limit_s=0.5)
    third.write(results)
    assert "| Web | page | 0.250 | 90 | — | < 500 ms | yes |" in results.read_text()
    first.write(results)  # rewriting a section keeps one summary, not two
    assert text.count("bench:summary -->") == results.read_text().count("bench:summary -->") == 2
