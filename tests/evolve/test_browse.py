"""The browsing commands against a small run written through the database API."""

from __future__ import annotations

import csv
import io
import json

import pytest
import typer
from typer.testing import CliRunner

from evolve.browse import best_so_far, register, sparkline
from evolve.cli import Commands
from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase
from tests.support.browsing_run import write_browsing_run


@pytest.fixture(scope="module")
def run_db(tmp_path_factory):
    return write_browsing_run(tmp_path_factory.mktemp("browse"), "toy-run")


@pytest.fixture()
def cli():
    app = typer.Typer(cls=Commands)  # the CLI's one error handler, as `evolve` has it
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_runs_pipes_as_tab_separated_lines(cli, run_db):
    url, _ = run_db
    result = cli("runs", "--db", url)
    assert result.exit_code == 0, result.output
    header, row = result.output.strip().splitlines()
    assert header.split("\t")[:3] == ["id", "name", "problem"]
    cells = row.split("\t")
    assert cells[1:5] == ["toy-run", "toy", "finished", "2"]  # seed not counted as a candidate
    assert cells[5] == "2"


def test_show_json_has_islands_and_models(cli, run_db):
    url, ids = run_db
    data = json.loads(cli("show", "latest", "--db", url, "--json").output)
    assert data["top"][0]["id"] == ids["child"]
    assert data["models"][0]["dollars"] == pytest.approx(0.5)
    assert data["counts"] == {"ok": 1, "error": 1}


def test_best_writes_the_best_code(cli, run_db, tmp_path):
    url, _ = run_db
    out = tmp_path / "best.py"
    assert cli("best", "toy-run", "--db", url, "-o", str(out)).exit_code == 0
    assert out.read_text() == "x = 2\n"


def test_lineage_and_diff(cli, run_db):
    url, ids = run_db
    steps = json.loads(cli("lineage", str(ids["child"]), "--db", url, "--json").output)
    assert [s["row"]["id"] for s in steps] == [ids["seed"], ids["child"]]
    assert steps[1]["delta"] == pytest.approx(2.0)
    out = cli("diff", str(ids["seed"]), str(ids["child"]), "--db", url).output
    assert "-x = 0" in out and "+x = 2" in out


def test_export_csv_has_every_attempt(cli, run_db):
    url, ids = run_db
    rows = list(csv.DictReader(io.StringIO(cli("export", "latest", "--db", url, "--format", "csv").output)))
    assert [int(r["id"]) for r in rows] == [ids["seed"], ids["child"], ids["failed"]]
    assert rows[2]["error"] == "edit did not apply"


def test_unknown_run_is_a_clear_error(cli, run_db):
    url, _ = run_db
    result = cli("show", "nope", "--db", url)
    assert result.exit_code == 2  # a missing run is bad input
    assert "no run 'nope'" in result.output


def test_sparkline_follows_the_best_so_far():
    assert best_so_far([None, 1.0, 0.5, 3.0]) == [1.0, 1.0, 3.0]
    assert sparkline([1.0, 1.0, 3.0]) == "▁▁█"


def test_runs_table_keeps_every_number_whole_at_80_columns(run_db):
    from rich.console import Console

    from evolve.browse import RUNS_HEADERS, rich_table, run_line
    from evolve.web.reader import RunReader

    url, _ = run_db
    row = RunReader(ProgramDatabase(url)).runs()[0]
    row.name = "a-rather-long-run-name-that-would-not-fit-in-eighty-columns"
    line = run_line(row)
    console = Console(width=80, record=True, color_system=None)
    console.print(rich_table("runs", RUNS_HEADERS, [line], text_columns=("name", "problem")))
    out = console.export_text()
    assert max(len(row) for row in out.splitlines()) <= 80
    for number in (line[0], line[4], line[5], line[7], line[8]):
        assert number in out, number


def test_diff_json_and_no_models_table_for_an_offline_run(cli, run_db, tmp_path):
    url, ids = run_db
    data = json.loads(cli("diff", str(ids["seed"]), str(ids["child"]), "--db", url, "--json").output)
    assert data["from"]["id"] == ids["seed"] and "+x = 2" in data["diff"]
    offline = f"sqlite:///{tmp_path / 'offline.db'}"
    db = ProgramDatabase(offline)
    run = db.create_run("offline", "toy", {}, seed=0)
    db.archive(run.id, ArchiveSettings(num_islands=1), seed=0).record(NewProgram(None, 0, 0, "x = 0\n", "seed", "ok", score=0.0))
    out = cli("show", "offline", "--db", offline).output
    assert "model\tcalls" not in out and "island\tcandidates" in out
    assert "model\tcalls" in cli("show", "toy-run", "--db", url).output


def test_program_shows_its_per_instance_scores(cli, run_db):
    url, ids = run_db
    shown = cli("program", str(ids["child"]), "--db", url)
    assert shown.exit_code == 0, shown.output
    assert "instance\tscore\nw1\t1.5\nw2\t2.5\n" in shown.output
    assert json.loads(cli("program", str(ids["child"]), "--db", url, "--json").output)["instances"] == {"w1": 1.5, "w2": 2.5}
    assert "instance\tscore" not in cli("program", str(ids["seed"]), "--db", url).output
