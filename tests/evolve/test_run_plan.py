"""A new run is planned before anything heavy loads, and its seed starts scoring at once.

The plan runs in a fresh interpreter, as `evolve run` starts, so the modules it reports
are the ones planning alone loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from rich.console import Console

from evolve.config import ConfigError
from evolve.run_plan import plan_run

REPO = Path(__file__).resolve().parents[2]
INSTANT = REPO / "benchmarks" / "problems" / "instant"
HEAVY = ("ray", "litellm", "sqlalchemy", "alembic", "fastapi", "evolve.launch", "evolve.database.archive",
         "evolve.evaluators.pool")

PLAN_AND_SCORE_THE_SEED = """
import json, sys
from rich.console import Console
from evolve.run_plan import plan_run
plan = plan_run(sys.argv[2], None, {"iterations": 3}, Console())
loaded = sorted(sys.modules)
seed = plan.local.submit(plan.problem.seed_code, "train").result(timeout=60)
plan.close()
with open(sys.argv[1], "w") as out:
    json.dump({"loaded": loaded, "status": seed.status, "score": seed.score, "iterations": plan.config.iterations}, out)
"""


def test_planning_loads_neither_ray_the_database_nor_litellm_and_the_seed_scores_meanwhile(tmp_path: Path) -> None:
    report = tmp_path / "plan.json"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(PLAN_AND_SCORE_THE_SEED), str(report), str(INSTANT)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    plan = json.loads(report.read_text())
    assert [m for m in plan["loaded"] if m.split(".")[0] in HEAVY or m in HEAVY] == []
    assert plan["status"] == "ok" and plan["score"] == -89.0  # the instant seed: len("variant 1.5") is 11
    assert plan["iterations"] == 3


def test_a_malformed_configuration_is_refused_before_any_sandbox_starts(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("evaluation: {slots: many}\n")
    with pytest.raises(ConfigError, match="slots"):
        plan_run(str(INSTANT), config, {}, Console())
    assert not [t for t in threading.enumerate() if t.name.startswith("local-sandbox")]


def test_a_problem_that_needs_a_gpu_gets_no_local_slot(tmp_path: Path) -> None:
    problem = tmp_path / "gpu_instant"
    problem.mkdir()
    for name in ("evaluate.py", "seed.py"):
        (problem / name).write_text((INSTANT / name).read_text())
    (problem / "problem.yaml").write_text((INSTANT / "problem.yaml").read_text().replace("gpus: 0", "gpus: 1"))
    plan = plan_run(str(problem), None, {}, Console())
    assert plan.local is None and plan.problem.limits.gpus == 1
