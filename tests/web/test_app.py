"""The web app without a browser: read-only routes, live reload while running, assets local."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from database import ArchiveSettings, NewProgram, ProgramDatabase
from evolve.web.app import create_app
from evolve.web.reader import RunReader


def client_for(tmp_path, status: str) -> tuple[TestClient, int]:
    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("r", "toy", {}, seed=0)
    db.archive(run.id, ArchiveSettings(num_islands=1), seed=0).record(
        NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0))
    if status != "running":
        db.set_run_status(run.id, status)
    return TestClient(create_app(RunReader(db))), run.id


def test_running_run_pages_reload_and_finished_ones_do_not(tmp_path):
    client, run_id = client_for(tmp_path, "running")
    assert 'http-equiv="refresh"' in client.get(f"/run/{run_id}").text
    (tmp_path / "done").mkdir()
    client, run_id = client_for(tmp_path / "done", "finished")
    assert 'http-equiv="refresh"' not in client.get(f"/run/{run_id}").text


def test_the_ui_is_read_only(tmp_path):
    client, run_id = client_for(tmp_path, "finished")
    for path in ("/", f"/run/{run_id}", "/program/1"):
        assert client.post(path).status_code == 405


def test_every_asset_is_served_locally(tmp_path):
    client, run_id = client_for(tmp_path, "finished")
    html = client.get(f"/run/{run_id}").text
    sources = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assets = [s for s in sources if s.startswith(("/static/", "http", "//"))]
    assert assets and all(s.startswith("/static/") for s in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200


def test_chart_data_follows_the_run(tmp_path):
    client, run_id = client_for(tmp_path, "finished")
    data = client.get(f"/run/{run_id}/data.json").json()
    assert data["attempts"]["score"] == [1.0]
    assert data["running"] is False
