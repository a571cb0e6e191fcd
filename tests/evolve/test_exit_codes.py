"""Every command's errors: one line on stderr, 2 for bad input, 1 for a failure during the
work, 0 otherwise; commands that only read never create a database."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evolve.database import ProgramDatabase

REPO = Path(__file__).resolve().parents[2]
SEED = """\
# EVOLVE-BLOCK-START
def f(x):
    return x
# EVOLVE-BLOCK-END
"""
EVALUATOR = """\
from evolve.evaluators.contract import load_program


def evaluate(program_path, split="train"):
    return {"score": float(load_program(program_path).f(2))}
"""


def make_problem(root: Path, evaluator: str = EVALUATOR) -> Path:
    root.mkdir()
    (root / "seed.py").write_text(SEED)
    (root / "evaluate.py").write_text(textwrap.dedent(evaluator))
    (root / "problem.yaml").write_text("description: tiny\nlimits: {timeout_s: 10}\nsplits: {train: t}\n")
    return root


@pytest.fixture
def place(tmp_path: Path) -> dict[str, str]:
    existing = tmp_path / "existing.db"
    ProgramDatabase(f"sqlite:///{existing}").create_run("there", "bin_packing", {}, 0)
    (tmp_path / "bad.yaml").write_text("llm:\n  modles: []\n")
    (tmp_path / "failing.py").write_text(SEED.replace("return x", "return undefined_name"))
    make_problem(tmp_path / "tiny")
    make_problem(tmp_path / "no_module", "import no_such_module_xyz\n" + EVALUATOR)
    make_problem(tmp_path / "bad_syntax", EVALUATOR.replace('split="train"):', 'split="train")'))
    return {
        "missing": f"sqlite:///{tmp_path}/nowhere/missing.db",
        "existing": f"sqlite:///{existing}",
        "read_only": f"sqlite:///file:{existing}?mode=ro&uri=true",
        "new": f"sqlite:///{tmp_path}/new.db",
        "tmp": str(tmp_path),
    }


CASES = [
    # (arguments, exit code, text on stderr); {name} is filled from the ``place`` fixture
    (["resume", "latest", "--db", "{missing}"], 2, "no database at"),
    (["prompt", "latest", "1", "--db", "{missing}"], 2, "no database at"),
    (["test", "latest", "--db", "{missing}"], 2, "no database at"),
    (["resume", "1", "--db", "garbage"], 2, "is not a database URL"),
    (["resume", "1", "--db", "xyz://host/db"], 2, "is not a database URL"),
    (["resume", "999", "--db", "{existing}"], 2, "no run '999'"),
    (["test", "999", "--db", "{existing}"], 2, "no run '999'"),
    (["resume", "there", "--db", "{read_only}"], 2, "is read-only"),
    (["run", "no_such_problem", "--db", "{new}"], 2, "no problem folder 'no_such_problem'"),
    (["run", "{tmp}/tiny", "--config", "{tmp}/bad.yaml", "--db", "{new}"], 2, "unknown key 'modles' at llm"),
    (["run", "{tmp}/tiny", "--no-such-flag"], 2, "No such option"),
    (["run", "{tmp}/tiny", "--model", "openai/gpt-4o-mini", "--db", "{new}"], 2, "OPENAI_API_KEY is not set"),
    (["show", "999", "--db", "{existing}"], 2, "no run '999'"),
    (["show", "latest", "--db", "{missing}"], 2, "no database at"),
    (["runs", "--db", "{missing}"], 2, "no database at"),
    (["program", "999", "--db", "{existing}"], 2, "no program with id 999"),
    (["program", "1", "--db", "{missing}"], 2, "no database at"),
    (["lineage", "999", "--db", "{existing}"], 2, "no program with id 999"),
    (["diff", "1", "999", "--db", "{missing}"], 2, "no database at"),
    (["best", "there", "--db", "{existing}"], 2, "has no successfully evaluated program yet"),
    (["export", "there", "--format", "xml", "--db", "{existing}"], 2, "unknown format 'xml'"),
    (["export", "latest", "--db", "{missing}"], 2, "no database at"),
    (["ui", "--db", "{missing}"], 2, "no database at"),
    (["eval", "{tmp}/tiny", "{tmp}/failing.py"], 1, None),
    (["eval", "{tmp}/tiny", "{tmp}/tiny/seed.py"], 0, None),
]


def evolve(args: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.mark.parametrize(("args", "code", "text"), CASES, ids=[" ".join(c[0][:2]) + f" -> {c[1]}" for c in CASES])
def test_exit_code_and_one_line(place: dict[str, str], args: list[str], code: int, text: str | None):
    result = evolve([a.format(**place) for a in args])
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if text is not None:
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 or "Usage:" in result.stderr, result.stderr
        assert text in result.stderr
    assert not Path(place["tmp"], "nowhere").exists()  # read-only commands created nothing


@pytest.mark.slow
@pytest.mark.parametrize(("problem", "cause"), [("no_module", "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
                                                ("bad_syntax", "SyntaxError")])
def test_an_evaluator_that_does_not_load_is_one_line_naming_the_users_file(place, problem: str, cause: str):
    result = evolve(["run", f"{place['tmp']}/{problem}", "-n", "1", "--db", place["new"]])
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert cause in line and f"{place['tmp']}/{problem}/evaluate.py" in line
    assert "evolve-problems" not in line
