"""The run memory: a note written on schedule, stored, priced, and given to later prompts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from evolve.config import build_config
from evolve.database import ProgramDatabase
from evolve.database.call_journal import CallJournal
from evolve.database.memory import latest_memory, memory_history
from evolve.prompts import render_messages
from evolve.run_memory import build_memory

from .test_novelty import EVALUATE, LONG_SEED, llm_config, start

HEADING = "# What this run has learnt so far"


@pytest.fixture
def memory_problem(tiny_problem):
    return tiny_problem(evaluator=EVALUATE, seed=LONG_SEED, limits={"timeout_s": 10, "memory_mb": 512})


@pytest.fixture
def pool(memory_problem, sandbox_pool):
    return sandbox_pool(memory_problem)


def memory_requests(server) -> list[int]:
    return [i for i, r in enumerate(server.requests) if "Write the run's notes" in r.messages[-1]["content"]]


def calls(db, run_id):
    with db.engine.connect() as conn:
        return conn.execute(text("select id, kind, cost_usd, response, program_id from llm_calls "
                                 "where run_id = :r order by id"), {"r": run_id}).all()


@pytest.mark.slow
def test_the_note_is_written_on_schedule_stored_priced_and_reaches_the_next_prompts(openai_server, memory_problem,
                                                                                     pool, tmp_path):
    db_url = f"sqlite:///{tmp_path}/runs.db"
    config = llm_config(openai_server.api_base, iterations=4, llm={"memory_every": 2})
    db, run_id = start(memory_problem, pool, db_url, config)

    notes = memory_history(db.engine, run_id)
    assert [n.candidates for n in notes] == [2, 4]
    rows = {row.id: row for row in calls(db, run_id)}
    for note in notes:
        call = rows[note.call_id]
        assert call.kind == "memory" and call.program_id is None and call.cost_usd > 0
        assert note.text == call.response.strip()
    requests = openai_server.requests
    first_memory, second_memory = memory_requests(openai_server)
    assert [i for i, _ in enumerate(requests) if i not in (first_memory, second_memory)] == [0, 1, 3, 4]
    assert HEADING not in requests[1].messages[-1]["content"]
    assert f"{HEADING}\n{notes[0].text}" in requests[3].messages[-1]["content"]
    assert f"{HEADING}\n{notes[0].text}" in requests[4].messages[-1]["content"]
    evidence = requests[first_memory].messages[-1]["content"]
    assert "2 candidates have been tried" in evidence and "## Changes that raised the score most" in evidence
    assert notes[0].text in requests[second_memory].messages[-1]["content"]  # the previous note is carried forward
    with db.engine.connect() as conn:
        spent = conn.execute(text("select sum(cost_usd) from llm_calls where run_id = :r"), {"r": run_id}).scalar()
    assert CallJournal(db.engine, run_id).spent_usd == pytest.approx(spent)  # the budget draws on the notes too

    # Resumed: the latest note is read back and given to the first prompt; no note is written twice.
    openai_server.reset()
    more = llm_config(openai_server.api_base, iterations=6, llm={"memory_every": 2})
    db, _ = start(memory_problem, pool, db_url, more, run_id)
    assert [n.candidates for n in memory_history(db.engine, run_id)] == [2, 4, 6]
    assert f"{HEADING}\n{notes[1].text}" in openai_server.requests[0].messages[-1]["content"]
    assert len(memory_requests(openai_server)) == 1

    # Shown by evolve show and on the web UI's run page.
    from evolve.cli import app

    latest = latest_memory(db.engine, run_id)
    shown = CliRunner().invoke(app, ["show", str(run_id), "--db", db_url])
    assert shown.exit_code == 0 and f"run memory (written at 6 candidates):\n{latest.text}" in shown.output
    data = json.loads(CliRunner().invoke(app, ["show", str(run_id), "--db", db_url, "--json"]).output)
    assert data["memory"] == {"candidates": 6, "text": latest.text}


def test_the_run_page_shows_the_latest_note(tmp_path):
    from fastapi.testclient import TestClient

    from evolve.database import NewProgram
    from evolve.database.memory import store_memory
    from evolve.web.app import create_app
    from evolve.web.reader import RunReader

    db = ProgramDatabase(f"sqlite:///{tmp_path}/runs.db")
    config = build_config()
    run = db.create_run("noted", "toy", config.model_dump(mode="json"), 0)
    archive = db.archive(run.id, config.archive, 0)
    archive.record(NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0))
    store_memory(db.engine, run.id, 3, "old note", None)
    store_memory(db.engine, run.id, 6, "Raising <b>x</b> helped.", None)
    page = TestClient(create_app(RunReader(db))).get(f"/run/{run.id}").text
    assert "Raising &lt;b&gt;x&lt;/b&gt; helped." in page and "at 6 candidates" in page and "old note" not in page


def test_memory_is_off_by_default_and_for_offline_runs(tmp_path):
    db = ProgramDatabase(f"sqlite:///{tmp_path}/runs.db")
    run = db.create_run(None, "toy", {}, 0)
    journal = CallJournal(db.engine, run.id)
    assert build_memory(build_config(), journal, None) is None
    assert build_memory(build_config(cli_overrides={"llm": {"memory_every": 5}}), journal, None) is None  # no model
    model = {"name": "openai/m", "api_base": "http://127.0.0.1:9/v1"}
    assert build_memory(build_config(cli_overrides={"llm": {"models": [model], "memory_every": 5}}), journal, None)


def test_the_note_has_its_own_section_in_both_edit_prompts(make_request):
    request = make_request()
    for mode in ("diff", "rewrite"):
        assert HEADING not in render_messages(request, mode)[1]["content"]
    request.memory = "Larger thresholds helped (+0.4); NaN guards keep failing."
    for mode in ("diff", "rewrite"):
        user = render_messages(request, mode)[1]["content"]
        assert f"{HEADING}\n{request.memory}" in user and user.index(HEADING) < user.index("# Task")


def test_evolve_prompt_shows_the_runs_latest_note(tmp_path):
    from evolve.cli import app
    from evolve.database import NewProgram
    from evolve.database.memory import store_memory
    from evolve.evaluators.problem import load_problem

    model = {"name": "openai/m", "api_base": "http://127.0.0.1:9/v1"}
    config = build_config(cli_overrides={"llm": {"models": [model], "memory_every": 2}})
    db_url = f"sqlite:///{tmp_path}/runs.db"
    db = ProgramDatabase(db_url)
    run = db.create_run("noted", "bin_packing", config.model_dump(mode="json"), 0)
    archive = db.archive(run.id, config.archive, 0)
    seed = archive.record(NewProgram(None, 0, 0, load_problem("bin_packing").seed_code, "seed", "ok", score=-4.0))
    archive.close()
    argv = ["prompt", "noted", str(seed.id), "--mode", "diff", "--json", "--db", db_url]
    before = json.loads(CliRunner().invoke(app, argv).output)["messages"][-1]["content"]
    assert HEADING not in before
    store_memory(db.engine, run.id, 2, "old note", None)
    store_memory(db.engine, run.id, 4, "Tighter fits helped; NaN guards keep failing.", None)
    after = json.loads(CliRunner().invoke(app, argv).output)["messages"][-1]["content"]
    assert f"{HEADING}\nTighter fits helped; NaN guards keep failing." in after and "old note" not in after
