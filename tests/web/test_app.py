"""The web app without a browser: read-only routes, live polling while running, assets local,
the program table's filters, diffs, and hostile text kept as text."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase
from evolve.web.app import create_app
from evolve.web.reader import RunReader


@pytest.fixture(scope="module")
def served_client(demo_run):
    url, ids = demo_run
    return TestClient(create_app(RunReader(ProgramDatabase(url)))), ids


def client_for(tmp_path, status: str) -> tuple[TestClient, int]:
    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("r", "toy", {}, seed=0)
    db.archive(run.id, ArchiveSettings(num_islands=1), seed=0).record(
        NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0))
    if status != "running":
        db.set_run_status(run.id, status)
    return TestClient(create_app(RunReader(db))), run.id


def test_a_running_run_is_polled_in_place_and_a_finished_one_is_not(tmp_path):
    client, run_id = client_for(tmp_path, "running")
    page = client.get(f"/run/{run_id}").text
    assert 'http-equiv="refresh"' not in page and '<span class="live"' in page
    assert client.get(f"/run/{run_id}/data.json").json()["progress"]["live"] is True
    (tmp_path / "done").mkdir()
    client, run_id = client_for(tmp_path / "done", "finished")
    assert '<span class="live"' not in client.get(f"/run/{run_id}").text
    assert client.get(f"/run/{run_id}/data.json").json()["progress"]["state"] == "finished"


def test_the_ui_is_read_only(tmp_path):
    client, run_id = client_for(tmp_path, "finished")
    for path in ("/", f"/run/{run_id}", f"/run/{run_id}/data.json", f"/run/{run_id}/programs",
                 f"/run/{run_id}/tree", "/program/1", "/program/1/lineage", "/diff/1/1", "/compare"):
        assert client.get(path).status_code == 200, path
        for method in (client.post, client.put, client.delete):
            assert method(path).status_code == 405, path


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


def test_the_ui_binds_to_localhost_by_default():
    import inspect

    from evolve.browse import ui

    assert inspect.signature(ui).parameters["host"].default.default == "127.0.0.1"


def test_program_table_filters_sorts_and_pages(served_client):
    client, ids = served_client
    run = ids["run"]
    timeouts = client.get(f"/run/{run}/programs?status=timeout").text
    assert "3 programs match" in timeouts and timeouts.count('class="s-row-timeout"') == 3
    by_score = client.get(f"/run/{run}/programs?sort=score&order=desc&origin=diff").text
    first = by_score.index('class="s-row-ok"')
    assert f'<a href="/program/{ids["best"]}"' in by_score[first:first + 200]
    assert "took too long" in client.get(f"/run/{run}/programs?error=too+long").text
    assert "0 programs match" in client.get(f"/run/{run}/programs?error=nothing+like+this").text
    bad = client.get(f"/run/{run}/programs?min_score=high")
    assert bad.status_code == 400 and "min_score must be a number" in bad.text


def test_dashboard_links_failures_to_the_table_and_lists_messages(served_client):
    client, ids = served_client
    page = client.get(f"/run/{ids['run']}").text
    assert "took too long" in page.split('id="failure-messages"')[1]
    data = client.get(f"/run/{ids['run']}/data.json").json()
    assert [f["cause"] for f in data["failures"]] == ["timeout"]


def test_diff_page_and_highlighted_code_keep_hostile_text_as_text(served_client):
    client, ids = served_client
    page = client.get(f"/program/{ids['script']}").text
    assert "<script>alert(1)</script>" not in page.split("<main>")[1].split('<script id=')[0]
    assert 'id="L-2"' in page and 'href="#L-2"' in page
    diff = client.get(f"/diff/{ids['seed']}/{ids['script']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in diff and '<span class="add">' in diff


def test_traceback_lines_link_to_the_code(tmp_path):
    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("tb", "toy", {}, seed=0)
    archive = db.archive(run.id, ArchiveSettings(num_islands=1), seed=0)
    archive.record(NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0))
    # The candidate runs as <sandbox root>/runs/<token>/<program name>, which its frames show.
    program = Path(tempfile.gettempdir(), "evolve-sandbox-4242-9f2c1a7b", "runs", "3e8d0c51a2b4f607", "seed.py")
    error = ('Traceback (most recent call last):\n  File "/usr/lib/python3.11/runpy.py", line 88, in _run\n'
             f'  File "{program}", line 2, in <module>\nZeroDivisionError: division by zero')
    failed = archive.record(NewProgram(1, 0, 1, "x = 1\ny = 1 / 0\n", "diff", "error", error=error))
    page = TestClient(create_app(RunReader(db))).get(f"/program/{failed.id}").text
    assert 'line <a class="line-link" href="#L-2">2</a>' in page
    assert "line 88," in page and 'href="#L-88"' not in page
    assert page.count("ZeroDivisionError: division by zero") == 1


def test_program_page_lists_its_per_instance_scores(tmp_path):
    db = ProgramDatabase(f"sqlite:///{tmp_path / 'runs.db'}")
    run = db.create_run("inst", "toy", {}, seed=0)
    archive = db.archive(run.id, ArchiveSettings(num_islands=1), seed=0)
    seed = archive.record(NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0,
                                     metrics={"score": 1.0, "instances": {"weibull_0": -4.5, "or3_1": -3.25}}))
    plain = archive.record(NewProgram(seed.id, 0, 1, "x = 2\n", "diff", "ok", score=2.0, metrics={"score": 2.0}))
    client = TestClient(create_app(RunReader(db)))
    page = client.get(f"/program/{seed.id}").text
    table = page[page.index('id="instances"'):]
    assert "<td>weibull_0</td>" in table and "-4.5" in table and "<td>or3_1</td>" in table
    assert 'id="instances"' not in client.get(f"/program/{plain.id}").text
