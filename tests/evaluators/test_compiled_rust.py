"""Rust candidates built by rustc in the sandbox: a crash, a hang, a process storm and a write
outside each end as a failed row (or an honest score), never as a forged one; the C++ cases
are in test_compiled_candidates.py."""

import shutil
from pathlib import Path

import pytest

from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from tests.support.compiled_problems import SUM_EVALUATOR, compiled_problem_yaml, sum_program

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("rustc", path="/usr/bin") is None,
                       reason="rustc is not installed in /usr/bin (apt-get install -y rustc)"),
]

@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    root = tmp_path_factory.mktemp("sum_rust")
    limits = {"timeout_s": 10, "memory_mb": 2048, "max_procs": 16}
    (root / "problem.yaml").write_text(compiled_problem_yaml("sum_rust", "Answer the sum of two integers.", "rust", limits))
    (root / "evaluate.py").write_text(SUM_EVALUATOR)
    (root / "seed.rs").write_text(sum_program("rust", "a + b"))
    return load_problem(root)


def _evaluate(problem, tmp_path: Path, body: str):
    path = tmp_path / "candidate.rs"
    path.write_text(sum_program("rust", body))
    return evaluate_file(problem, path)


def test_the_seed_is_scored(problem, tmp_path):
    result = _evaluate(problem, tmp_path, "a + b")
    assert result.status == "ok" and result.score == 1.0, result.artifacts


def test_a_panicking_binary_is_a_failed_row(problem, tmp_path):
    result = _evaluate(problem, tmp_path, 'if a == 7 { panic!("seven") }\na + b')
    assert result.status != "ok" and result.score is None
    assert "exited with code 101" in result.artifacts["error"]


def test_an_aborting_binary_is_a_failed_row_naming_the_signal(problem, tmp_path):
    result = _evaluate(problem, tmp_path, "if a == 3 { std::process::abort() }\na + b")
    assert result.status != "ok" and result.score is None
    assert "SIGABRT" in result.artifacts["error"]


def test_a_binary_that_never_answers_times_out(problem, tmp_path):
    spin = "let mut x = a;\nloop { x = x.wrapping_mul(3).wrapping_add(b); if x == i64::MIN + 1 { return x; } }"
    result = _evaluate(problem, tmp_path, spin)
    assert result.status == "timeout" and result.score is None


def test_a_process_storm_is_a_failed_row(problem, tmp_path):
    body = """
    let mut children = Vec::new();
    for _ in 0..100000 {
        match std::process::Command::new("/proc/self/exe").stdin(std::process::Stdio::piped()).spawn() {
            Ok(child) => children.push(child),
            Err(_) => break,
        }
    }
    if children.len() >= 16 { return a + b; }
    -1"""
    result = _evaluate(problem, tmp_path, body)
    assert result.score in (None, 0.0)  # max_procs (16) stops the storm first: every answer -1, or a failed row


def test_a_binary_cannot_write_outside_its_sandbox(problem, tmp_path):
    target = problem.root / "evaluate.py"
    before = target.read_text()
    outside = tmp_path / "written_outside"
    forged = "def evaluate(c, s='train'):\\n    return {'score': 1e9}\\n"
    body = f"""
    let forged = std::fs::write("{target}", "{forged}").is_ok();
    let escaped = std::fs::write("{outside}", "x").is_ok();
    if forged || escaped {{ a + b }} else {{ -1 }}"""
    result = _evaluate(problem, tmp_path, body)
    assert result.status == "ok" and result.score == 0.0  # neither write succeeded: every answer -1
    assert target.read_text() == before and not outside.exists()
