"""OpenEvolve-format problems in Rust and R run unchanged through `evolve run DIR`: the
initial program keeps its language and suffix, its markers their comment syntax, and the
evaluator shells out to cargo or Rscript inside the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from evolve.browse import register as register_browse
from evolve.cli import Commands
from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase
from evolve.openevolve_import import OpenEvolveFormatError, convert, import_directory

EXAMPLES = Path(__file__).resolve().parent / "openevolve_examples"
HAS_CARGO = shutil.which("cargo", path="/usr/bin") is not None
HAS_R = shutil.which("Rscript", path="/usr/bin") is not None


def _copy(name: str, tmp_path: Path) -> Path:
    source = tmp_path / name
    shutil.copytree(EXAMPLES / name, source, ignore=shutil.ignore_patterns("__pycache__"))
    return source


def _run(source: Path, tmp_path: Path, candidates: int, models: list | None = None,
         ) -> tuple[subprocess.CompletedProcess, list[tuple]]:
    """`evolve run DIR -n N` with these models (none: the offline mutator); the rows it wrote."""
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({"llm": {"models": models or []}}))
    db = tmp_path / "runs.db"
    completed = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "run", str(source), "-n", str(candidates), "--db", f"sqlite:///{db}",
         "--config", str(tmp_path / "run.yaml")],
        cwd=tmp_path, env={**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT origin, status, score, code, artifacts FROM programs ORDER BY id").fetchall()
    return completed, rows


def test_a_rust_program_is_imported_in_its_language_with_its_suffix(tmp_path: Path) -> None:
    imported = import_directory(_copy("rust_sort", tmp_path), tmp_path / "out")
    spec = yaml.safe_load((imported.root / "problem.yaml").read_text())
    assert spec["program"] == "seed.rs" and spec["candidate"] == {"language": "rust"}
    assert (imported.root / "seed.rs").read_text() == (EXAMPLES / "rust_sort" / "initial_program.rs").read_text()
    assert "language" not in imported.unsupported and "file_suffix" not in imported.unsupported


def test_an_r_program_without_markers_is_wrapped_in_rs_comment_syntax(tmp_path: Path) -> None:
    source = _copy("r_regression", tmp_path)
    program = source / "initial_program.r"
    program.write_text("\n".join(line for line in program.read_text().splitlines() if "EVOLVE-BLOCK" not in line))
    imported = import_directory(source, tmp_path / "out")
    seed = (imported.root / "seed.r").read_text().splitlines()
    assert seed[0] == "# EVOLVE-BLOCK-START" and seed[-1] == "# EVOLVE-BLOCK-END"


def test_a_language_the_program_is_not_written_in_is_reported(tmp_path: Path) -> None:
    source = _copy("r_regression", tmp_path)
    config = yaml.safe_load((source / "config.yaml").read_text())
    (source / "config.yaml").write_text(yaml.safe_dump({**config, "language": "julia", "file_suffix": ".jl"}))
    mapped, program = convert(source)
    assert program.name == "initial_program.r" and mapped.language == "r"
    assert {"language", "file_suffix"} <= set(mapped.unsupported)


def test_a_program_of_an_unknown_language_is_refused_with_the_known_suffixes(tmp_path: Path) -> None:
    source = _copy("r_regression", tmp_path)
    (source / "initial_program.xyz").write_text("# EVOLVE-BLOCK-START\nx\n# EVOLVE-BLOCK-END\n")
    with pytest.raises(OpenEvolveFormatError, match=r"'\.xyz' file \(known suffixes: .*\.rs"):
        convert(source, program="initial_program.xyz")


def _evolved(example: str, tmp_path: Path, candidates: int) -> tuple[tuple, list[tuple]]:
    """The example run offline for this many candidates: its seed row, which must have scored, and
    the candidates' rows."""
    completed, rows = _run(_copy(example, tmp_path), tmp_path, candidates)
    assert f"stopped: iterations; {candidates} candidates" in completed.stdout
    assert len(rows) == candidates + 1
    seed = rows[0]
    assert seed[0] == "seed" and seed[1] == "ok", seed[4]
    return seed, rows[1:]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_CARGO, reason="cargo is not installed in /usr/bin (apt-get install -y cargo)")
def test_the_rust_example_runs_through_evolve_run_with_cargo_in_the_sandbox(tmp_path: Path) -> None:
    (_, _, score, code, artifacts), children = _evolved("rust_sort", tmp_path, 3)
    assert 0 < score <= 1 and '"correct": true' in json.loads(artifacts)["benchmark"]
    assert "// EVOLVE-BLOCK-START" in code and "pub fn sort_batch" in code
    assert all(row[1] in ("ok", "invalid", "error", "duplicate", "edit_failed") for row in children)
    assert any(row[3] != code for row in children)  # the offline mutator edited the Rust text


@pytest.mark.slow
@pytest.mark.skipif(not HAS_R, reason="Rscript is not installed (apt-get install -y r-base-core r-cran-jsonlite)")
def test_the_r_example_runs_through_evolve_run_with_rscript_in_the_sandbox(tmp_path: Path) -> None:
    (_, _, score, code, artifacts), children = _evolved("r_regression", tmp_path, 4)
    fits = json.loads(json.loads(artifacts)["fits"])
    assert len(fits) == 3 and abs(fits[0]["slope"] - 2.0) < 0.05  # the clean case, fitted by the R program
    assert 0 < score < 1
    assert {row[0] for row in children} == {"offline"}
    scored = [row for row in children if row[1] == "ok" and row[2] is not None and row[3] != code]
    assert scored, [(row[1], row[4]) for row in children]  # the offline mutator edited R text, and R scored it


@pytest.mark.slow
@pytest.mark.skipif(not HAS_R, reason="Rscript is not installed (apt-get install -y r-base-core r-cran-jsonlite)")
def test_a_model_edits_the_r_program_and_the_edit_is_scored(tmp_path: Path, openai_server) -> None:
    """The scripted local server answers with a diff of the R code the prompt fenced as r."""
    models = [{"name": "openai/scripted", "api_base": openai_server.api_base, "max_tokens": 300}]
    _, rows = _run(_copy("r_regression", tmp_path), tmp_path, 1, models)
    assert len(rows) == 2 and rows[1][0] != "seed"
    child = rows[1]
    assert child[3] != rows[0][3] and "fit_line <- function(x, y)" in child[3]
    assert child[1] == "ok" and child[2] is not None, child[4]
    assert "```r" in openai_server.requests[0].messages[-1]["content"]


def _rust_run(tmp_path: Path, problem_ref: str) -> tuple[str, int]:
    """A run of a Rust problem written through the database API: its URL and best program's id."""
    url = f"sqlite:///{tmp_path / 'browse.db'}"
    db = ProgramDatabase(url)
    settings = ArchiveSettings(num_islands=1)
    run = db.create_run("rust-run", problem_ref, {"archive": settings.model_dump()}, seed=0)
    code = (EXAMPLES / "rust_sort" / "initial_program.rs").read_text()
    best = db.archive(run.id, settings, seed=0).record(NewProgram(None, 0, 0, code, "seed", "ok", score=0.5))
    db.set_run_status(run.id, "finished")
    db.close()
    return url, best.id


@pytest.fixture()
def cli():
    app = typer.Typer(cls=Commands)
    register_browse(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_best_and_program_write_into_a_folder_with_the_languages_suffix(tmp_path: Path, cli) -> None:
    problem = import_directory(_copy("rust_sort", tmp_path), tmp_path / "problem").root
    url, best_id = _rust_run(tmp_path, str(problem))
    out = tmp_path / "out"
    out.mkdir()
    assert cli("best", "rust-run", "--db", url, "-o", str(out)).exit_code == 0
    assert "pub fn sort_batch" in (out / "best.rs").read_text()
    assert cli("program", str(best_id), "--db", url, "-o", str(out)).exit_code == 0
    assert (out / f"program_{best_id}.rs").read_text() == (out / "best.rs").read_text()


def test_a_file_name_given_is_kept_with_a_note_when_its_suffix_is_not_the_languages(tmp_path: Path, cli) -> None:
    url, _ = _rust_run(tmp_path, str(tmp_path / "problem_since_deleted"))  # the language is read off the code
    named = tmp_path / "best.py"
    result = cli("best", "rust-run", "--db", url, "-o", str(named))
    assert result.exit_code == 0 and "pub fn sort_batch" in named.read_text()
    assert "is written as named, but the program is rust (its files end in .rs)" in result.output
    quiet = cli("best", "rust-run", "--db", url, "-o", str(tmp_path / "mine.rs"))
    assert quiet.exit_code == 0 and "note:" not in quiet.output
    printed = cli("best", "rust-run", "--db", url)
    assert printed.exit_code == 0 and printed.output.startswith("// Sorting routine")


def test_a_tool_the_evaluator_runs_and_the_sandbox_cannot_see_is_named_at_import(tmp_path: Path, monkeypatch) -> None:
    source = _copy("rust_sort", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    mapped, _ = convert(source)
    assert "evaluator.py runs cargo, not installed: apt-get install -y cargo" in mapped.notes
    if HAS_CARGO:
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
        assert not any("runs cargo" in note for note in convert(source)[0].notes)
