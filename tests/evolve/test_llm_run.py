"""A short ``evolve run`` through litellm against the scripted local server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from evolve.cli import app
from evolve.database import ProgramDatabase
from evolve.database.queries import run_summary
from evolve.web.reader import RunReader

SEED = textwrap.dedent(
    '''\
    # EVOLVE-BLOCK-START
    def value():
        return 1.0
    # EVOLVE-BLOCK-END
    '''
)
EVALUATOR = textwrap.dedent(
    '''\
    from evolve.evaluators.contract import load_program


    def evaluate(program_path, split="train"):
        return {"score": float(load_program(program_path).value())}
    '''
)
CHEAP = "openai/cheap-model"
PRICEY = "openai/pricey-model"


def make_problem(root: Path) -> Path:
    folder = root / "toy_llm"
    folder.mkdir()
    (folder / "seed.py").write_text(SEED)
    (folder / "evaluate.py").write_text(EVALUATOR)
    (folder / "problem.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "toy_llm",
                "description": "Make value() return a larger number.",
                "limits": {"timeout_s": 30, "memory_mb": 1024, "cpus": 1},
                "splits": {"train": "one call of value()"},
            }
        )
    )
    return folder


def write_config(path: Path, api_base: str, pricey_out_per_mtok: float = 80.0, bandit: bool = False, **top) -> Path:
    models = [
        {"name": CHEAP, "api_base": api_base, "max_tokens": 300, "price_in_per_mtok": 0.5, "price_out_per_mtok": 1.0},
        {
            "name": PRICEY, "api_base": api_base, "max_tokens": 300,
            "price_in_per_mtok": 20.0, "price_out_per_mtok": pricey_out_per_mtok,
        },
    ]
    config = {
        "max_in_flight": 2,
        "seed": 3,
        "llm": {"models": models, "bandit": bandit, "diff_ratio": 1.0, "retries": 1, "backoff_base_s": 0.01, "timeout_s": 20},
        "archive": {"num_islands": 1},
        "evaluation": {"test_top_k": 0},
        **top,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def evolve_run(problem: Path, config: Path, db_url: str, name: str) -> str:
    result = CliRunner().invoke(app, ["run", str(problem), "--config", str(config), "--db", db_url, "--name", name])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.mark.slow
def test_short_run_records_calls_tokens_and_dollars_per_model(openai_server, tmp_path):
    problem = make_problem(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'runs.db'}"
    config = write_config(tmp_path / "run.yaml", openai_server.api_base, bandit=True, iterations=6)
    evolve_run(problem, config, db_url, "llm-run")

    db = ProgramDatabase(db_url)
    run = db.open_run("llm-run")
    summary = run_summary(db, run)
    assert summary["counts"]["total"] == 6  # candidates, the seed not counted
    models = {m["model"]: m for m in summary["models"]}
    assert set(models) == {CHEAP, PRICEY}
    assert sum(m["calls"] for m in models.values()) == len(openai_server.requests) >= 6
    for name, m in models.items():
        assert m["tokens_in"] > 0 and m["tokens_out"] > 0 and m["errors"] == 0
    per_token = {
        name: m["cost_usd"] / (m["tokens_in"] + m["tokens_out"]) for name, m in models.items()
    }
    assert per_token[PRICEY] > 20 * per_token[CHEAP]
    assert RunReader(db).run("llm-run").best_train > 1.0  # the scripted diffs raise the constant the seed returns
    arms = db.load_bandit_state(run.id)["arms"]
    assert {name: arm["selected"] for name, arm in arms.items()} == {
        name: m["calls"] for name, m in models.items()
    }
    assert sum(arm["observed"] for arm in arms.values()) == 6


@pytest.mark.slow
def test_budget_stops_the_run_before_it_is_exceeded(openai_server, tmp_path):
    problem = make_problem(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'runs.db'}"
    # Every answer reports max_tokens of output, so calls cost close to their worst case.
    openai_server.state.completion_tokens = 300
    budget = 2.0
    config = write_config(
        tmp_path / "run.yaml", openai_server.api_base, pricey_out_per_mtok=400.0, iterations=40, budget_usd=budget
    )
    output = evolve_run(problem, config, db_url, "llm-budget")

    db = ProgramDatabase(db_url)
    summary = run_summary(db, db.open_run("llm-budget"))
    assert "stopped: budget" in output
    assert 0 < summary["cost_usd"] <= budget
    assert summary["counts"]["total"] < 40
