"""The numbers the browsers show are the archive's: the same candidates, the same best
program, the same grids, whatever migrated, re-binned or tied on the way."""

from __future__ import annotations

import json
import time

import typer
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from evolve.browse import register
from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase, queries
from evolve.database.models import ArchiveState, Program, Run
from evolve.web.app import create_app
from evolve.web.dashboard import chart_data
from evolve.web.reader import RunReader


def test_island_best_program_has_the_best_score_shown(migrating):
    url, state, reader = migrating
    summary = reader.summary(state["run"])
    scores = {r["id"]: r for r in queries.export_programs(reader.db, state["run"])}
    held = {i["island"]: i["best"] for i in state["archive"]["islands"]}
    for island in summary.islands:
        assert scores[island.best_id]["score"] == island.best_score
        assert (island.best_id, island.best_score) == (held[island.island]["id"], held[island.island]["score"])
    assert any(scores[i.best_id]["origin"] == "migrant" for i in summary.islands), "a migrant holds some island's best"


def test_candidates_are_counted_once_everywhere(migrating):
    url, state, reader = migrating
    summary = reader.summary(state["run"])
    total = state["counts"]["total"]
    assert reader.run(str(state["run"])).candidates == total
    assert queries.run_summary(reader.db, state["run"])["counts"]["total"] == total
    assert sum(i.candidates for i in summary.islands) == total


def test_heat_maps_draw_what_the_archive_holds(migrating):
    url, state, reader = migrating
    grids = chart_data(reader.summary(state["run"]))["grids"]
    drawn = {g["island"]: sorted((tuple(c["cell"]), c["id"]) for c in g["cells"]) for g in grids}
    held = {i["island"]: sorted((tuple(c["cell"]), c["id"]) for c in i["cells"]) for i in state["archive"]["islands"]}
    assert drawn == held
    stored = {r["id"]: r["feature_cell"] for r in queries.export_programs(reader.db, state["run"])}
    assert any(list(cell) != stored[pid] for cells in held.values() for cell, pid in cells), \
        "the axes re-binned after some elite was written, so its stored cell is stale"


def test_one_best_program_at_the_end_of_the_run_in_the_cli_and_the_ui(migrating, tmp_path):
    url, state, reader = migrating
    rows = [r for r in queries.export_programs(reader.db, state["run"]) if r["status"] == "ok" and r["origin"] != "migrant"]
    top = max(r["score"] for r in rows)
    assert sum(r["score"] == top for r in rows) > 1, "the best score is tied"
    app = typer.Typer()
    register(app)
    out = tmp_path / "best.py"
    result = CliRunner().invoke(app, ["best", str(state["run"]), "--db", url, "-o", str(out)])
    assert f"program {state['best']} " in result.output
    assert reader.run(str(state["run"])).best_id == state["best"]
    assert reader.summary(state["run"]).top[0].id == state["best"]
    html = TestClient(create_app(reader)).get(f"/run/{state['run']}").text
    assert f'id="best-program" href="/program/{state["best"]}"' in html


def test_best_test_is_the_best_programs_own(tmp_path):
    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("tested", "toy", {}, seed=0)
    archive = db.archive(run.id, ArchiveSettings(num_islands=1), seed=0)
    archive.record(NewProgram(None, 0, 0, "x = 0\n", "seed", "ok", score=0.0))
    good = archive.record(NewProgram(1, 0, 1, "x = 1\n", "diff", "ok", score=0.9))
    other = archive.record(NewProgram(1, 0, 1, "x = 2\n", "diff", "ok", score=0.8))
    archive.set_test_metrics(good.id, 0.85, {})
    archive.set_test_metrics(other.id, 0.93, {})
    row = RunReader(db).run("tested")
    assert (row.best_train, row.best_test) == (0.9, 0.85)
    assert row.max_test == 0.93
    html = TestClient(create_app(RunReader(db))).get("/").text
    assert "max test" in html


def test_a_killed_run_shows_stalled_with_the_resume_command(tmp_path):
    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("killed", "toy", {}, seed=0)
    db.archive(run.id, ArchiveSettings(num_islands=1), seed=0).record(
        NewProgram(None, 0, 0, "x = 0\n", "seed", "ok", score=0.0))
    hour_ago = time.time() - 3600
    with db.engine.begin() as conn:  # what a driver killed an hour ago leaves behind
        for table in (Run.__table__, ArchiveState.__table__):
            conn.execute(update(table).values(updated_at=hour_ago))
        conn.execute(update(Program.__table__).values(created_at=hour_ago))
    client = TestClient(create_app(RunReader(db)))
    page = client.get(f"/run/{run.id}").text
    assert "evolve resume killed" in page
    assert '<span class="live"' not in page
    assert 'http-equiv="refresh"' not in page
    data = client.get(f"/run/{run.id}/data.json").json()
    assert data["running"] is False and data["progress"]["state"] == "stalled"
    assert ">stalled<" in client.get("/").text


def test_migrants_are_marked_in_children_and_lineage(migrating):
    url, state, reader = migrating
    rows = list(queries.export_programs(reader.db, state["run"]))
    migrant = next(r for r in rows if r["origin"] == "migrant" and any(c["parent_id"] == r["id"] for c in rows))
    client = TestClient(create_app(reader))
    parent_page = client.get(f"/program/{migrant['parent_id']}").text
    assert f'<a href="/program/{migrant["id"]}" class="migrant"' in parent_page
    assert f"migrant to island {migrant['island']}" in parent_page
    child = next(c for c in rows if c["parent_id"] == migrant["id"])
    lineage = client.get(f"/program/{child['id']}/lineage").text
    assert f"copied to island {migrant['island']}" in lineage
    assert json.dumps(migrant["id"]) in lineage


def test_a_run_whose_driver_process_is_gone_is_stalled_at_once(tmp_path):
    from evolve.database.lease import LEASES, acquire

    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("held", "toy", {}, seed=0)
    acquire(db.engine, run)
    reader = RunReader(db)
    assert reader.run("held").running
    with db.engine.begin() as conn:  # the holder's process ends without releasing (kill -9)
        conn.execute(update(LEASES).values(pid=2 ** 22 + 12345))
    row = reader.run("held")
    assert row.state == "stalled" and not row.running
