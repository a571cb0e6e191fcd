"""Run integrity as a user breaks it: two drivers on one run, kill -9 against a model
server that counts what it answered, and a server that lies about its usage."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select

from evolve.database.call_journal import CALLS
from evolve.database.connection import normalise_url
from evolve.database.lease import LEASES
from evolve.database.models import Program
from evolve.leftovers import session_processes
from evolve.llm_client import render_transcript
from tests.evolve.test_cli import REPO, SEED, SLOW_EVALUATOR
from tests.evolve.test_llm_run import make_problem

PROGRAMS = Program.__table__


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def evolve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def table(url: str, query) -> list:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    except Exception:  # not created yet
        return []
    finally:
        engine.dispose()


def wait_until(check, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs.db"
    return request.getfixturevalue("postgres_server").new_database("two_drivers")


@pytest.fixture
def slower_problem(tmp_path: Path) -> Path:
    """Half a second per evaluation: the first driver is still busy when the others come."""
    root = tmp_path / "slower_problem"
    root.mkdir()
    (root / "seed.py").write_text(SEED)
    (root / "evaluate.py").write_text(SLOW_EVALUATOR.replace("time.sleep(0.15)", "time.sleep(0.5)"))
    (root / "problem.yaml").write_text("description: tune f\nlimits: {timeout_s: 10}\nsplits: {train: t}\n")
    return root


@pytest.mark.slow
def test_a_second_driver_is_refused_and_force_takes_over_cleanly(slower_problem: Path, url: str):
    first = start("run", str(slower_problem), "-n", "60", "-k", "2", "--db", url, "--name", "dr")
    wait_until(lambda: len(table(url, select(PROGRAMS.c.id))) >= 6)
    refused = evolve("resume", "dr", "--db", url)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = [line for line in refused.stderr.splitlines() if line.strip()]
    assert f"is being driven by pid {first.pid}" in line and "evolve resume dr --force" in line
    taker = start("resume", "dr", "--force", "--db", url)
    first_output, _ = first.communicate(timeout=120)
    assert first.returncode == 0, first_output
    assert "stopping: evolve resume --force" in first_output and "stopped: interrupted" in first_output
    taker_output, _ = taker.communicate(timeout=300)
    assert taker.returncode == 0, taker_output
    rows = table(url, select(PROGRAMS.c.origin, PROGRAMS.c.status, PROGRAMS.c.code_hash).order_by(PROGRAMS.c.id))
    candidates = [r for r in rows if r.origin not in ("seed", "migrant")]
    assert len(candidates) == 60 and [r.origin for r in rows].count("seed") == 1
    evaluated = [r.code_hash for r in candidates if r.status not in ("duplicate", "edit_failed", "cancelled")]
    assert len(evaluated) == len(set(evaluated)), "a program was evaluated twice"


def llm_config(path: Path, api_base: str, **top) -> Path:
    model = {"name": "openai/test-model", "api_base": api_base, "max_tokens": 300,
             "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0}
    config = {"max_in_flight": 3, "seed": 5, "archive": {"num_islands": 1}, "evaluation": {"test_top_k": 0},
              "llm": {"models": [model], "retries": 1, "backoff_base_s": 0.01, "timeout_s": 20}, **top}
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_no_answered_call(openai_server, tmp_path: Path):
    openai_server.state.latency_s = 0.3
    problem = make_problem(tmp_path)
    config = llm_config(tmp_path / "run.yaml", openai_server.api_base, iterations=18)
    url = f"sqlite:///{tmp_path}/runs.db"
    rng = random.Random(17)
    calls = lambda: len(table(url, select(CALLS.c.id)))  # noqa: E731
    left_by_killed: str | None = None
    for kill in range(3):
        args = ("run", str(problem), "--config", str(config), "--name", "k9") if kill == 0 else ("resume", "k9")
        process = start(*args, "--db", url)
        before = calls()
        wait_until(lambda: calls() >= before + rng.randint(1, 4))
        if left_by_killed is not None:  # the new driver has started: the killed one's Ray is gone
            assert session_processes(left_by_killed) == []
        time.sleep(rng.uniform(0.0, 0.35))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        (left_by_killed,) = [row.ray_session for row in table(url, select(LEASES.c.ray_session))]
        assert left_by_killed  # the killed driver's lease names its Ray session
    final = evolve("resume", "k9", "--db", url)
    assert final.returncode == 0, final.stdout + final.stderr
    time.sleep(openai_server.state.latency_s + 0.5)  # requests of the killed drivers are answered too

    answered = Counter(render_transcript(r.messages) for r in openai_server.requests)
    rows = table(url, select(CALLS.c.prompt, CALLS.c.state, CALLS.c.cost_usd, CALLS.c.max_cost_usd))
    recorded = Counter(r.prompt for r in rows)
    assert not answered - recorded, "a request the server answered has no row"
    unanswered = recorded - answered
    lost = [r for r in rows if r.state == "lost"]
    assert sum(unanswered.values()) <= len(lost) <= 3 * 3  # only calls in flight at a kill, never a made-up answer
    assert all(r.cost_usd == r.max_cost_usd > 0 for r in lost)
    assert {r.state for r in rows} <= {"answered", "failed", "lost"}
    candidates = table(url, select(PROGRAMS.c.id).where(PROGRAMS.c.origin.not_in(("seed", "migrant"))))
    assert len(candidates) == 18
    print(f"server answered {sum(answered.values())}, rows {len(rows)}, lost {len(lost)}, "
          f"recorded but never answered {sum(unanswered.values())}")


@pytest.mark.slow
def test_a_server_lying_about_its_usage_stops_the_run_at_the_budget(openai_server, tmp_path: Path):
    openai_server.state.completion_tokens = 1_300_000  # against max_tokens 300
    problem = make_problem(tmp_path)
    config = llm_config(tmp_path / "run.yaml", openai_server.api_base, iterations=40, budget_usd=0.05, max_in_flight=2)
    url = f"sqlite:///{tmp_path}/runs.db"
    result = evolve("run", str(problem), "--config", str(config), "--db", url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stopped: budget" in result.stdout
    rows = table(url, select(CALLS.c.anomaly, CALLS.c.cost_usd))
    assert len(rows) == len(openai_server.requests) <= 2  # only the calls already in flight when the first lie came back
    assert all("1300000 completion tokens against max_tokens 300" in r.anomaly for r in rows)
    assert all(r.cost_usd == pytest.approx(1_300_000 * 2e-6, rel=0.01) for r in rows)


def candidates_of(url: str) -> list:
    rows = table(url, select(PROGRAMS.c.origin, PROGRAMS.c.sample_count, PROGRAMS.c.write_key).order_by(PROGRAMS.c.id))
    return [r for r in rows if r.origin not in ("seed", "migrant")]


def assert_exactly_once(url: str, n: int, unwritten: int = 0) -> None:
    """n candidates, each written once, and the sampling cursor (samples drawn when a row was
    written) never set back: one sample per candidate, plus at most the ``unwritten`` samples
    of candidates in flight when a driver stopped (resume goes on after them)."""
    found = candidates_of(url)
    assert len(found) == n
    assert len({r.write_key for r in found}) == n and None not in {r.write_key for r in found}
    cursors = [r.sample_count for r in found]
    assert cursors == sorted(cursors) and n <= cursors[-1] <= n + unwritten


@pytest.mark.slow
@pytest.mark.postgres
def test_a_postgresql_restart_mid_run_loses_and_duplicates_nothing(slower_problem: Path, postgres_server):
    url = postgres_server.new_database("restart_mid_run")
    driver = start("run", str(slower_problem), "-n", "30", "-k", "2", "--db", url, "--name", "rs")
    try:
        wait_until(lambda: len(candidates_of(url)) >= 6)
        postgres_server.shut_down()
        time.sleep(5)
    finally:
        postgres_server.start_again()
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 0, output
    assert "stopped: iterations; 30 candidates" in output and "Traceback" not in output
    assert_exactly_once(url, 30)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_database_away_past_the_wait_stops_the_run_in_one_line_and_resume_finishes_it(slower_problem: Path,
                                                                                         postgres_server):
    url = postgres_server.new_database("away_too_long")
    driver = subprocess.Popen([sys.executable, "-m", "evolve.cli", "run", str(slower_problem), "-n", "20", "-k", "2",
                               "--db", url, "--name", "gone", "--db-wait", "3"], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(candidates_of(url)) >= 4)
        postgres_server.shut_down()
        _, errors = driver.communicate(timeout=120)
    finally:
        postgres_server.start_again()
    assert driver.returncode == 1, errors
    assert "Traceback" not in errors and "waiting up to 3 s" in errors
    (line,) = [line for line in errors.splitlines() if line.startswith("error:")]
    assert "was unreachable for" in line and "evolve resume gone" in line
    resumed = evolve("resume", "gone", "--db", url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "stopped: iterations; 20 candidates" in resumed.stdout
    assert_exactly_once(url, 20, unwritten=2)
