"""The `evolve` command as a user runs it: real Ray, real sandbox, real SQLite."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLOW_EVALUATOR = """
import time
from evolve.evaluators.contract import load_program

def evaluate(program_path, split="train"):
    time.sleep(0.15)
    value = load_program(program_path).f(3.0)
    return {"score": -abs(value - 10.0)}
"""
SEED = """
# EVOLVE-BLOCK-START
def f(x):
    return 1.0 * x + 0.5
# EVOLVE-BLOCK-END
"""


def evolve(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT origin, status, code_hash, parent_id, island FROM programs ORDER BY id").fetchall()


def wait_for_rows(db: Path, count: int, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if len(rows(db)) >= count:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"{db} never reached {count} programs")


@pytest.fixture
def slow_problem(tmp_path: Path) -> Path:
    root = tmp_path / "slow_problem"
    root.mkdir()
    (root / "seed.py").write_text(textwrap.dedent(SEED))
    (root / "evaluate.py").write_text(textwrap.dedent(SLOW_EVALUATOR))
    (root / "problem.yaml").write_text("description: tune f\nlimits: {timeout_s: 10}\nsplits: {train: t, test: t}\n")
    return root


@pytest.mark.slow
def test_short_real_run_on_bin_packing(tmp_path: Path):
    db = tmp_path / "runs.db"
    result = evolve("run", "bin_packing", "-n", "12", "-k", "2", "--db", f"sqlite:///{db}", "--name", "ci-run")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("No model configured: using the offline mutator")
    assert any(line.startswith("best score") and "vs seed" in line for line in lines)
    stored = rows(db)
    candidates = [r for r in stored[1:] if r[0] != "migrant"]
    assert len(candidates) == 12 and stored[0][0] == "seed"
    assert {origin for origin, *_ in candidates} == {"offline"}
    assert {status for _, status, *_ in stored} <= {"ok", "error", "invalid", "duplicate", "edit_failed", "timeout"}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs WHERE name='ci-run'").fetchone() == ("finished",)
        assert conn.execute("SELECT count(*) FROM programs WHERE test_score IS NOT NULL").fetchone()[0] >= 1


@pytest.mark.slow
def test_kill_9_then_resume_loses_and_repeats_nothing(slow_problem: Path, tmp_path: Path):
    db = tmp_path / "runs.db"
    process = start("run", str(slow_problem), "-n", "40", "-k", "2", "--db", f"sqlite:///{db}")
    wait_for_rows(db, 12)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    killed_at = len(rows(db))
    assert killed_at < 41
    result = evolve("resume", "latest", "--db", f"sqlite:///{db}")
    assert result.returncode == 0, result.stdout + result.stderr
    stored = [r for r in rows(db) if r[0] != "migrant"]  # migrant copies are not candidates
    assert len(stored) == 41
    assert [r[0] for r in stored].count("seed") == 1
    evaluated = [h for _, status, h, *_ in stored if status not in ("duplicate", "edit_failed", "cancelled")]
    assert len(evaluated) == len(set(evaluated)), "a program was evaluated twice"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone() == ("finished",)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_run_on_postgresql_stores_every_attempt_with_its_stages_and_resumes(slow_problem: Path, postgres_server):
    import psycopg

    url = postgres_server.new_database("cli_run")
    first = evolve("run", str(slow_problem), "-n", "6", "-k", "2", "--db", url, "--name", "pg-run")
    assert first.returncode == 0, first.stdout + first.stderr
    resumed = evolve("resume", "pg-run", "-n", "10", "--db", url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with psycopg.connect(url) as conn:
        programs = conn.execute("SELECT id, origin, status FROM programs ORDER BY id").fetchall()
        staged = {row[0] for row in conn.execute("SELECT DISTINCT program_id FROM evaluation_stages")}
        status = conn.execute("SELECT status FROM runs WHERE name = 'pg-run'").fetchone()
    candidates = [p for p in programs if p[1] not in ("seed", "migrant")]
    assert len(candidates) == 10 and programs[0][1] == "seed"
    evaluated = [p[0] for p in programs if p[1] != "migrant" and p[2] in ("ok", "error", "invalid", "timeout")]
    assert evaluated and set(evaluated) <= staged
    assert status == ("finished",)
    shown = evolve("show", "pg-run", "--db", url)
    assert shown.returncode == 0 and "pg-run" in shown.stdout, shown.stdout + shown.stderr


@pytest.mark.slow
def test_same_seed_one_in_flight_gives_the_same_programs(slow_problem: Path, tmp_path: Path):
    sequences = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.db"
        result = evolve("run", str(slow_problem), "-n", "10", "-k", "1", "--seed", "3", "--db", f"sqlite:///{db}")
        assert result.returncode == 0, result.stderr
        sequences.append(rows(db))
    assert sequences[0] == sequences[1]
    other = tmp_path / "c.db"
    assert evolve("run", str(slow_problem), "-n", "10", "-k", "1", "--seed", "4", "--db", f"sqlite:///{other}").returncode == 0
    assert rows(other) != sequences[0]


@pytest.mark.slow
def test_ctrl_c_stops_gracefully_and_resume_finishes(slow_problem: Path, tmp_path: Path):
    db = tmp_path / "runs.db"
    process = start("run", str(slow_problem), "-n", "500", "-k", "2", "--db", f"sqlite:///{db}")
    wait_for_rows(db, 6)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopping: finishing the candidates in flight" in output
    assert "stopped: interrupted" in output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone() == ("stopped",)
    assert all(status != "cancelled" for _, status, *_ in rows(db))


def test_wrong_config_key_is_a_clear_error(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("llm:\n  modles: []\n")
    result = evolve("run", "bin_packing", "--config", str(config), "--db", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert "unknown key 'modles' at llm" in result.stderr
    assert "models" in result.stderr and "Traceback" not in result.stderr


def test_unknown_problem_and_unknown_run_are_clear_errors(tmp_path: Path):
    result = evolve("run", "no_such_problem", "--db", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2 and "no problem folder 'no_such_problem'" in result.stderr
    assert "bin_packing" in result.stderr
    from evolve.database import ProgramDatabase

    ProgramDatabase(f"sqlite:///{tmp_path}/x.db").close()  # resume never creates one (test_exit_codes.py)
    result = evolve("resume", "nope", "--db", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2 and "nope" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_new_problem_runs_immediately(tmp_path: Path):
    created = evolve("new-problem", "my_sched", "--dir", str(tmp_path))
    assert created.returncode == 0, created.stderr
    root = tmp_path / "my_sched"
    evaluated = evolve("eval", str(root), str(root / "seed.py"), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["status"] == "ok"
    result = evolve("run", str(root), "-n", "6", "--db", f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stdout + result.stderr
    again = evolve("new-problem", "my_sched", "--dir", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_eval_prints_metrics_and_artifacts_and_json():
    baseline = REPO / "problems/bin_packing/baselines/first_fit.py"
    result = evolve("eval", "bin_packing", str(baseline), "--split", "test", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["artifacts"]
    plain = evolve("eval", "bin_packing", str(baseline))
    assert "score" in plain.stdout and "stage full" in plain.stdout


def test_problems_lists_every_problem_with_a_summary():
    result = evolve("problems", "--json")
    assert result.returncode == 0, result.stderr
    names = {p["name"]: p["summary"] for p in json.loads(result.stdout)}
    assert {"bin_packing", "txn_scheduling", "cant_be_late", "llm_serving"} <= set(names)
    assert all(names.values())


@pytest.mark.parametrize("command", ["run", "resume", "eval", "problems", "new-problem", "test", "prompt", "import"])
def test_every_command_has_help_with_an_example(command: str):
    result = evolve(command, "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout


def test_prompt_prints_the_messages_a_parent_would_produce(tmp_path: Path):
    from evolve.config import build_config
    from evolve.database import NewProgram, ProgramDatabase
    from evolve.evaluators.problem import load_problem

    problem = load_problem("bin_packing")
    config = build_config(cli_overrides={"llm": {"models": [{"name": "openai/m", "api_base": "http://127.0.0.1:9/v1"}]}})
    db = ProgramDatabase(f"sqlite:///{tmp_path}/p.db")
    run = db.create_run("prompted", "bin_packing", config.model_dump(mode="json"), 0)
    archive = db.archive(run.id, config.archive, 0)
    seed = archive.record(NewProgram(parent_id=None, island=0, generation=0, code=problem.seed_code, origin="seed",
                                     status="ok", score=-4.2, metrics={"train_excess_pct": 4.2},
                                     artifacts={"worst_instances": "weibull1k_seed103: 4.6 %"}))
    archive.close()
    result = evolve("prompt", "prompted", str(seed.id), "--mode", "diff", "--json", "--db", f"sqlite:///{tmp_path}/p.db")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "diff"
    system, user = data["messages"][0]["content"], data["messages"][-1]["content"]
    assert "Online 1-D bin packing" in system
    assert "def priority" in user and "weibull1k_seed103: 4.6 %" in user and "SEARCH" in user
    missing = evolve("prompt", "prompted", "999", "--db", f"sqlite:///{tmp_path}/p.db")
    assert missing.returncode == 2 and "no program with id 999" in missing.stderr


@pytest.mark.slow
def test_offline_evolution_improves_bin_packing_within_200_candidates(tmp_path: Path):
    db = tmp_path / "bp.db"
    result = evolve("run", "bin_packing", "-n", "200", "-k", "1", "--seed", "0", "--db", f"sqlite:///{db}",
                    timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(db) as conn:
        seed_score = conn.execute("SELECT score FROM programs WHERE origin = 'seed'").fetchone()[0]
        best = conn.execute("SELECT max(score) FROM programs WHERE status = 'ok'").fetchone()[0]
        candidates = conn.execute("SELECT count(*) FROM programs WHERE origin = 'offline'").fetchone()[0]
    assert candidates == 200
    assert best > seed_score
