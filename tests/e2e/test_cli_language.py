"""The CLI speaks one language at a time (issue 16): Vietnamese by default, English with
`KIEMDIEM_LANG=en`, every help text, header and message from the catalogs of `config/locale`.

A Vietnamese run fails on any common English word in what it prints, an English run on any
Vietnamese letter. Names the contract fixes (commands, flags, stage and event
names, JSON keys) and the data (unit and person names) are taken out before looking.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator

import click
import pytest

from config.settings import CHANNELS
from kiemdiem.cli import cli
from tests.helpers import SAMPLE_PLAN, SAMPLE_UNITS, run, run_json, seeded, submit_results
from workflow.stages import EVENT_FOR, STAGE_FOR_EVENT

NOW = "2026-11-20T08:00:00+07:00"

#: common English words that would betray an untranslated message in a Vietnamese run
ENGLISH = frozenset("""
    a an the and or of for with from by into onto about than then there these those this that
    is are was were be been being has have had will would should must cannot can't does don't
    not only every each all any none nothing some yes no please first next last new old
    unit units campaign campaigns deadline deadlines stage stages level levels cycle cycles
    found error errors missing invalid unknown option options usage show help message messages
    exit argument arguments command commands run write written wrote read file files database
    schema late overdue sent delivered failed retry queue left given dead row rows result
    results report created updated imported added account password sessions note warning
    default stopped such choose value values
""".split())

#: names the CLI contract fixes, printed as they are in every language
MACHINE = frozenset({*EVENT_FOR, *STAGE_FOR_EVENT, "plan_issued", "kiemdiem", *CHANNELS})


def command_paths(command: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command's path below the top (`()`, `("units",)`, `("units", "import")`…)."""
    yield path
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            yield from command_paths(command.get_command(click.Context(command), name), (*path, name))


PATHS = sorted(" ".join(p) for p in command_paths() if p)


def _data() -> list[str]:
    """The sample's unit and person names: data, printed as they are in every language."""
    with SAMPLE_UNITS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return sorted({row[k] for row in rows for k in ("name", "secretary") if row[k]}, key=len, reverse=True)


DATA = _data()


def machine_free(text: str) -> str:
    """`text` without what is the same in every language: data, code spans, flags, choice
    lists, command paths, metavars, file names, input files' column names, addresses and contract
    names."""
    for name in DATA:
        text = text.replace(name, " ")
    for path in sorted(PATHS, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(path)}(?![\w-])", " ", text)
        # a group's --help lists its subcommands by name
        text = re.sub(rf"(?m)^  {re.escape(path.split()[-1])}(?= {{2}})", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\b(cột|column) \w+", " ", text)  # an input file's column: "dòng 7, cột level"
    text = re.sub(r"\[[\w|.-]+\]", " ", text)  # click's choice lists: [json|csv|xlsx|html|pdf]
    text = re.sub(r"\S+@\S+|https?://\S+|\S*[/\\]\S*|\S+:\S+", " ", text)  # dedup keys: 2026:GL:…
    text = re.sub(r"(?<!\w)--?[\w-]+", " ", text)
    words = re.findall(r"[\w'.]+", text)
    return " ".join(w for w in words if not (w.isupper() or "_" in w or "." in w.strip(".") or w in MACHINE))


def english_words(text: str) -> list[str]:
    return sorted({w for w in re.findall(r"[\w']+", machine_free(text)) if w.lower() in ENGLISH})


def vietnamese_letters(text: str) -> list[str]:
    return sorted({c for c in machine_free(text)
                   if c in "đĐ" or unicodedata.normalize("NFD", c) != c})


#: files with a problem in (nearly) every row, each listing its problems one per line
BAD_FILES = {
    "bad_units.csv": """code,name,level,parent,secretary,email,zalo_user_id,phone,has_committee
,Cell X0,cell,GL,,,,,
bad code!,Cell X9,cell,GL,,,,,
GL-X1,Cell X1,nowhere,GL,,abc,,12,maybe
GL-X2,Cell X2,cell,NOPE,,,,,
GL-X3,Cell X3,cell,GL-X3,,,,,
GL-X4,Cell X4,province,GL-CQD-BTC,,,,,
GL-X4,Cell X5,cell,GL,,,,,
""",
    # imported with a warning per row (dry run)
    "odd_units.csv": """code,name,level,parent,phone
GL-X8,Cell X8,cell,GL-CQD,912345678
GL-X9,Cell X9,cell,GL-CQD,02693822222
""",
    "bad_results.csv": """name,level,votes_for,full_members_voting,admitted_on,is_head,kht_grounds,\
score_general,tasks_total,tasks_completed
,HTT,3,5,,,,,,
Ho Van Binh,BOGUS,x,5,,,,,,
Le Thi Cuc,HTT,7,5,2026-13-01,maybe,NOPE,99,2,3
Le Thi Cuc,HTT,3,5,,,,,,
""",
    "bad_progress.csv": """code,stage,date
,cell_met,2026-11-19
GL-TS-TH,nowhere,2026-11-19
GL-TS-TH,plan_issued,bad
""",
    # read well, break a dozen classification rules
    "broken_rules.csv": """name,level,votes_for,full_members_voting,is_head,absent,exempt,sick_leave_months,\
kht_grounds,admitted_on
Ho Van Binh,HTXS,2,5,yes,,,,,
Le Thi Cuc,HTXS,3,5,yes,,,,,
Tran Van Dung,HTT,3,5,,yes,,,,
Pham Thi Em,HTT,3,5,,,yes,,,
Vo Van Giang,HTT,3,5,,,,4,,
Dao Thi Hoa,HT,3,5,,,,,FORBIDDEN_ACTS,
Ngo Van Khanh,HT,3,5,,,,,,2026-10-01
""",
    # rows that read well but contradict the stored campaign
    "late_progress.csv": """code,stage,date
NOPE,cell_met,2026-11-19
GL-TS-TH,cell_met,2026-12-30
GL-TS-TH,reports_prepared,2026-11-19
GL-TS-TH,reports_prepared,2026-11-19
""",
}


def without_sources(table: str) -> str:
    """`results check --rules` without its last column: the sources cite the texts by their own
    (Vietnamese) titles, in every language."""
    return "\n".join("│".join(cells[:-2] + cells[-1:]) if len(cells := line.split("│")) > 2 else line
                     for line in table.splitlines())


def transcript(db_url: str, tmp_path) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(what was run, what it printed) for every `--help` and a representative session."""
    seeded(db_url)
    said = []
    for name, body in BAD_FILES.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    bad = {name: str(tmp_path / name) for name in BAD_FILES}

    def say(*args: str, now: str | None = NOW) -> None:
        result = run(db_url, *args, now=now)
        assert result.exit_code in (0, 1, 2), result.output
        output = without_sources(result.output) if args[-1] == "--rules" else result.output
        said.append((" ".join(args), output))

    for path in [""] + PATHS:
        say(*path.split(), "--help")
    for args in (["status"], ["status", "GL-TS"], ["overdue"], ["units", "tree", "GL-TS"], ["remind", "--dry-run"],
                 ["remind"], ["outbox"], ["dispatch", "--once"], ["outbox", "--status", "sent"],
                 ["simulate", "--from", "2026-11-20", "--to", "2026-11-21"],
                 ["advance", "GL-TS-TH", "--to", "reports_prepared"], ["audit", "GL-TS-TH"],
                 ["deadline", "extend", "GL-TS-THCS", "forms_submitted", "2026-11-28", "--reason", "x"],
                 ["campaign", "ensure", "2026", "--plan", str(SAMPLE_PLAN)],
                 ["units", "import", str(SAMPLE_UNITS), "--dry-run"], ["units", "import", str(SAMPLE_UNITS)],
                 ["user", "add", "hoa", "--unit", "GL"], ["user", "list"], ["diagram"],
                 # refusals and mistakes: the project's errors and click's own
                 ["advance", "NOPE", "--to", "cell_met"], ["advance", "GL-TS-TH", "--to", "aggregated"],
                 ["advance", "GL-TS-TH", "--to", "nowhere"], ["status", "--year", "1999"],
                 ["outbox", "retry"], ["outbox", "retry", "999"], ["report", "GL", "--format", "pdf"],
                 ["report", "GL", "--format", "docx"], ["nonexistent"], ["advance"], ["status", "--bogus"],
                 ["simulate", "--from", "2026-11-21", "--to", "2026-11-20"],
                 ["results", "check"], ["links", "export", "-o", str(tmp_path / "x.csv")],
                 ["reopen", "GL-TS-TH", "--reason", "x"], ["campaign", "create", "2026", "--plan", str(SAMPLE_PLAN)],
                 ["deadline", "extend", "GL-TS-THCS", "forms_submitted", "2026-11-01", "--reason", "x"],
                 ["advance", "GL-TS", "--to", "forms_submitted"], ["user", "add", "hoa", "--unit", "GL"],
                 ["results", "show", "GL-TS-TH"], ["results", "level", "GL-TS", "BOGUS"],
                 ["units", "import", str(tmp_path / "none.csv")], ["units", "import", str(tmp_path / "x.doc")],
                 # the problems of each kind of input file, one per row
                 ["units", "import", bad["bad_units.csv"]], ["units", "import", bad["odd_units.csv"], "--dry-run"],
                 ["results", "check", "GL-TS-TH", bad["bad_results.csv"]],
                 ["results", "check", "GL-TS-TH", bad["broken_rules.csv"], "--unit-level", "HTXS"],
                 ["results", "check", "--rules"],
                 ["progress", "import", bad["bad_progress.csv"]], ["progress", "import", bad["late_progress.csv"]]):
        say(*args)
    return said


@pytest.fixture
def outbox_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KIEMDIEM_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("KIEMDIEM_CHANNELS", "file")
    return tmp_path


def test_vietnamese_by_default_without_an_english_word(db_url, outbox_dir, monkeypatch):
    monkeypatch.delenv("KIEMDIEM_LANG", raising=False)
    said = transcript(db_url, outbox_dir)
    leaks = {args: english_words(out) for args, out in said if english_words(out)}
    assert leaks == {}
    everything = "\n".join(out for _args, out in said)
    assert "Cách dùng: cli" in everything and "Đã gửi" in everything
    for said_of_a_bad_file in ("mã đơn vị trống", "thiếu số 0 đầu", "không phải ngày", "không có bước",
                               "chưa đến", "Chi bộ chỉ có một người đứng đầu", "từ chối"):
        assert said_of_a_bad_file in everything


def test_english_with_kiemdiem_lang_en_without_a_vietnamese_letter(db_url, outbox_dir, monkeypatch):
    monkeypatch.setenv("KIEMDIEM_LANG", "en")
    said = transcript(db_url, outbox_dir)
    leaks = {args: vietnamese_letters(out) for args, out in said if vietnamese_letters(out)}
    assert leaks == {}
    everything = "\n".join(out for _args, out in said)
    assert "Usage: cli" in everything and "Delivered" in everything
    for said_of_a_bad_file in ("the unit code is empty", "lost its leading 0", "is not a date", "there is no stage",
                               "has not come yet", "A cell has one head", "refuses"):
        assert said_of_a_bad_file in everything


def test_the_word_lists_catch_what_they_should():
    assert english_words("Lỗi: the unit was not found") == ["found", "not", "the", "unit", "was"]
    assert english_words("Cách dùng: kiemdiem units import [OPTIONS] FILE; `results level`, --dry-run, "
                         "plan_issued, sample.csv, aggregated") == []
    assert vietnamese_letters("Error: unit Đảng bộ tỉnh Gia Lai") == []  # a unit's name is data
    assert set(vietnamese_letters("Lỗi: không có")) == {"ỗ", "ô", "ó"}


def test_stored_violations_are_worded_in_the_readers_language(db_url, tmp_path, monkeypatch):
    """A violation is stored as a code and its data: accepted in Vietnamese, read back in English
    (and the other way round), each reader sees one language."""
    seeded(db_url)
    for stage in ("reports_prepared", "cell_met"):
        assert run(db_url, "advance", "GL-TS-TH", "--to", stage, "--at", "2026-11-16T09:00", now=NOW).exit_code == 0
    path = tmp_path / "broken_rules.csv"
    path.write_text(BAD_FILES["broken_rules.csv"], encoding="utf-8")
    monkeypatch.delenv("KIEMDIEM_LANG", raising=False)
    refused = run(db_url, "results", "submit", "GL-TS-TH", str(path), "--unit-level", "HTXS", now=NOW)
    assert refused.exit_code == 1 and "Chi bộ chỉ có một người đứng đầu" in refused.stderr
    assert english_words(refused.output) == []
    forced = run(db_url, "results", "submit", "GL-TS-TH", str(path), "--unit-level", "HTXS", "--force",
                 "--reason", "BTV chấp thuận", now=NOW)
    assert forced.exit_code == 0, forced.stderr
    monkeypatch.setenv("KIEMDIEM_LANG", "en")
    shown = json.loads(run(db_url, "results", "show", "GL-TS-TH", "--json", now=NOW).stdout)
    messages = [v["message"] for v in shown["violations"]]
    assert {"code", "member", "message"} == set(shown["violations"][0])
    assert any("A cell has one head" in m for m in messages)
    assert vietnamese_letters(" ".join(messages)) == []
    gate = run(db_url, "advance", "GL-TS-TH", "--to", "forms_submitted", now=NOW)
    assert gate.exit_code == 1 and "break" in gate.stderr and vietnamese_letters(gate.output) == []
    monkeypatch.delenv("KIEMDIEM_LANG")
    shown = json.loads(run(db_url, "results", "show", "GL-TS-TH", "--json", now=NOW).stdout)
    assert any("Chi bộ chỉ có một người đứng đầu" in v["message"] for v in shown["violations"])


def test_reasons_the_system_writes_and_import_summaries_read_in_the_readers_language(db_url, tmp_path, monkeypatch):
    """The audit reasons the system gives itself (units aggregated with their parent, a late
    cell joining the aggregate, a link reissued) are stored as codes, and a progress import
    returns counts: each reads in the language of whoever runs the command."""
    seeded(db_url)
    monkeypatch.setenv("KIEMDIEM_SECRET_KEY", "khoa-bi-mat-chi-dung-trong-thu-nghiem-0123456789")
    for cell in ("GL-PC-CH-T1", "GL-PC-CH-T2"):
        for stage in ("reports_prepared", "cell_met"):
            assert run(db_url, "advance", cell, "--to", stage, now=NOW).exit_code == 0
        submit_results(db_url, cell, now=NOW)
    for stage in ("reports_prepared", "committee_met"):
        assert run(db_url, "advance", "GL-PC-CH", "--to", stage, now=NOW).exit_code == 0
    path = tmp_path / "progress.csv"
    path.write_text("code,stage,date\nGL-PC-CH-T1,forms_submitted,2026-11-20\nGL-PC-CH-T2,forms_submitted,2026-11-20\n"
                    "GL-PC-CH,forms_submitted,2026-11-20\n", encoding="utf-8")
    summaries = {}
    for lang, args in (("vi", ["--dry-run"]), ("en", ["--dry-run"]), ("en", []), ("en", []), ("vi", [])):
        monkeypatch.setenv("KIEMDIEM_LANG", lang)
        result = run(db_url, "progress", "import", str(path), *args, now=NOW)
        assert result.exit_code == 0, result.stderr
        summaries.setdefault(lang, []).append(result.output)
    assert "Sẽ ghi" in summaries["vi"][0] and "Đã hoàn thành từ trước (3 dòng" in summaries["vi"][1]
    assert "Would record" in summaries["en"][0] and "aggregated with their parent: 2 units" in summaries["en"][1]
    assert "Done before (3 rows, not recorded again)" in summaries["en"][2]
    assert "row 4: unit GL-PC-CH is past stage" in summaries["en"][2]
    assert run(db_url, "reopen", "GL-PC-CH-T1", "--reason", "x", now=NOW).exit_code == 0
    assert run(db_url, "advance", "GL-PC-CH-T1", "--to", "forms_submitted", now=NOW).exit_code == 0
    assert run(db_url, "links", "revoke", "GL-PC-CH-T2").exit_code == 0
    audits = {}
    for lang in ("en", "vi"):
        monkeypatch.setenv("KIEMDIEM_LANG", lang)
        summaries[lang].append(run(db_url, "audit", "GL-PC-CH").output)
        audits[lang] = {e["reason"] for e in run_json(db_url, "audit", "GL-PC-CH")}
    assert {"GL-PC-CH submitted its aggregate report", "added to the parent's aggregate report",
            "a new link issued; the old link no longer works"} <= audits["en"]
    assert {"GL-PC-CH đã gửi báo cáo tổng hợp", "bổ sung vào báo cáo tổng hợp của cấp trên",
            "cấp đường dẫn mới, đường dẫn cũ hết hiệu lực"} <= audits["vi"]
    assert [vietnamese_letters(out) for out in summaries["en"]] == [[]] * len(summaries["en"])
    assert [english_words(out) for out in summaries["vi"]] == [[]] * len(summaries["vi"])


def test_a_configuration_error_reads_in_the_readers_language(db_url, tmp_path, monkeypatch):
    """A bad plan file and a bad setting are codes and data worded by the CLI: each names the
    file, the line and the key (or the variable), in Vietnamese by default and in English with
    KIEMDIEM_LANG=en, exit 2 either way."""
    seeded(db_url)
    plan = tmp_path / "bad_plan.yaml"
    plan.write_text("year: 2027\ntitle: x\nbogus: 1\ndeadlines:\n  cell:\n    cell_met: {by: 2027-13-40}\n",
                    encoding="utf-8")
    said = {}
    for lang in ("vi", "en"):
        monkeypatch.setenv("KIEMDIEM_LANG", lang)
        bad_plan = run(db_url, "campaign", "create", "2027", "--plan", str(plan), now=NOW)
        monkeypatch.setenv("KIEMDIEM_SMTP_PORT", "x")
        bad_setting = run(db_url, "status", now=NOW)
        monkeypatch.delenv("KIEMDIEM_SMTP_PORT")
        assert (bad_plan.exit_code, bad_setting.exit_code) == (2, 2), bad_plan.output + bad_setting.output
        assert f"{plan}:3: bogus:" in bad_plan.stderr and f"{plan}:6: deadlines.cell.cell_met.by:" in bad_plan.stderr
        assert "KIEMDIEM_SMTP_PORT: " in bad_setting.stderr
        said[lang] = bad_plan.stderr + bad_setting.stderr
    assert english_words(said["vi"]) == [], said["vi"]
    assert vietnamese_letters(said["en"]) == [], said["en"]
    assert "some keys are wrong" in said["en"] and "bad settings" in said["en"]
