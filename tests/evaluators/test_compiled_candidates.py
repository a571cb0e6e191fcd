"""Compiled candidates in the sandbox: built there, cached by source, run as a binary that
answers on stdin/stdout; a compile error, a crash, a hang, a fork bomb and a write outside
each end as a failed row (or an honest score), never as a forged one."""

import shutil
from pathlib import Path

import pytest

from evolve.evaluators.candidate.native import trim_message
from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import ProblemError, load_problem
from evolve.evaluators.sandbox import Sandbox
from tests.support.compiled_problems import SUM_EVALUATOR, compiled_problem_yaml, sum_program

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed (apt-get install -y g++)")

LIMITS = {"timeout_s": 10, "memory_mb": 1024, "max_procs": 16}


def _problem(root: Path, toolchain: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    description = "Answer the sum of two integers."
    (root / "problem.yaml").write_text(compiled_problem_yaml("sum_cpp", description, "cpp", LIMITS, toolchain))
    (root / "evaluate.py").write_text(SUM_EVALUATOR)
    (root / "seed.cpp").write_text(sum_program("cpp", "return a + b;"))
    return root


def _program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "candidate.cpp"
    path.write_text(sum_program("cpp", body))
    return path


@pytest.fixture
def problem(tmp_path):
    return load_problem(_problem(tmp_path / "sum_cpp"))


def test_a_cpp_candidate_compiles_runs_and_is_scored(problem, tmp_path):
    result = evaluate_file(problem, _program(tmp_path, "return a + b;"))
    assert result.status == "ok", result.artifacts
    assert result.score == 1.0
    wrong = evaluate_file(problem, _program(tmp_path, "return a + b + (a % 2);"))
    assert wrong.status == "ok" and wrong.score == 0.5


def test_a_compile_error_is_a_failed_row_with_the_compilers_message(problem, tmp_path):
    result = evaluate_file(problem, _program(tmp_path, "return a + undeclared_thing;"))
    assert result.status != "ok" and result.score is None
    message = result.artifacts["error"]
    assert "undeclared_thing" in message and "error" in message
    assert "build-" not in message and len(message) < 4000


def test_a_crashing_binary_is_a_failed_row(problem, tmp_path):
    result = evaluate_file(problem, _program(tmp_path, "if (a == 7) { int *p = nullptr; *p = 1; }\nreturn a + b;"))
    assert result.status != "ok" and result.score is None
    assert "SIGSEGV" in result.artifacts["error"]


@pytest.mark.slow
def test_a_binary_that_never_answers_times_out(problem, tmp_path):
    result = evaluate_file(problem, _program(tmp_path, "for (;;) {}\nreturn 0;"))
    assert result.status == "timeout" and result.score is None


@pytest.mark.slow
def test_a_fork_bomb_is_a_failed_row(problem, tmp_path):
    result = evaluate_file(problem, _program(tmp_path, "for (int i = 0; i < 100000; ++i) fork();\nreturn a + b;"))
    assert result.status != "ok" and result.score is None


def test_a_binary_cannot_write_outside_its_sandbox(problem, tmp_path):
    target = problem.root / "evaluate.py"
    before = target.read_text()
    outside = tmp_path / "written_outside"
    body = f"""
    FILE *f = std::fopen("{target}", "w");
    if (f) {{ std::fputs("def evaluate(c, s='train'):\\\\n    return {{'score': 1e9}}\\\\n", f); std::fclose(f); }}
    FILE *g = std::fopen("{outside}", "w");
    if (g) {{ std::fclose(g); return a + b; }}
    return -1;"""
    result = evaluate_file(problem, _program(tmp_path, body))
    assert result.status == "ok" and result.score == 0.0  # neither file could be opened: every answer -1
    assert target.read_text() == before and not outside.exists()


def test_an_identical_candidate_is_never_rebuilt(problem, tmp_path):
    code = _program(tmp_path, "return a + b;").read_text()
    with Sandbox.for_problem(problem, problem.root) as sandbox:
        first = sandbox.run("full", code, "train")
        second = sandbox.run("full", code, "train")
        other = sandbox.run("full", code.replace("a + b", "b + a"), "train")
    assert first.status == second.status == other.status == "ok"
    assert first.build["cached"] is False and first.build["build_s"] > 0
    assert second.build == {"cached": True, "build_s": 0.0}
    assert other.build["cached"] is False


def test_a_missing_tool_chain_is_named_at_load_with_its_package(tmp_path):
    root = _problem(tmp_path / "needs_tool", toolchain="{g++: g++, no-such-compiler-x: gcc-x}")
    with pytest.raises(ProblemError, match=r"no-such-compiler-x, not found on PATH: apt-get install -y gcc-x$"):
        load_problem(root)


def test_compiler_messages_are_trimmed_to_the_errors():
    noise = "\n".join(f"In file included from /usr/include/x{i}.h" for i in range(400))
    text = noise + "\n/s/build-1/candidate.cpp:3:12: error: 'y' was not declared in this scope\n"
    trimmed = trim_message(text, "/s/build-1")
    assert trimmed == "candidate.cpp:3:12: error: 'y' was not declared in this scope"


def test_a_tool_chain_outside_usr_is_named_at_load(tmp_path, monkeypatch):
    """The candidate's sandbox shows /usr, not ~/.cargo/bin: such a compiler is refused at load."""
    private = tmp_path / "private-bin"
    private.mkdir()
    tool = private / "private-cc-x"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{private}:/usr/bin:/bin")
    root = _problem(tmp_path / "private_tool", toolchain="{g++: g++, private-cc-x: gcc-x}")
    with pytest.raises(ProblemError, match=r"private-cc-x, found only outside /usr.*: apt-get install -y gcc-x$"):
        load_problem(root)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("rustc", path="/usr/bin") is None, reason="rustc is not installed (apt-get install -y rustc)")
def test_a_rust_candidate_builds_and_runs_and_its_compile_error_is_a_failed_row(tmp_path):
    root = tmp_path / "sum_rust"
    root.mkdir()
    limits = {"timeout_s": 30, "memory_mb": 2048, "max_procs": 16}
    (root / "problem.yaml").write_text(compiled_problem_yaml("sum_rust", "Answer the sum of two integers.", "rust", limits))
    (root / "evaluate.py").write_text(SUM_EVALUATOR)
    (root / "seed.rs").write_text(sum_program("rust", "a + b"))
    problem = load_problem(root)
    assert problem.language == "rust"
    good = evaluate_file(problem, root / "seed.rs")
    assert good.status == "ok" and good.score == 1.0, good.artifacts
    broken = tmp_path / "broken.rs"
    broken.write_text(sum_program("rust", "a + undeclared_b"))
    failed = evaluate_file(problem, broken)
    assert failed.status != "ok" and "undeclared_b" in failed.artifacts["error"]
