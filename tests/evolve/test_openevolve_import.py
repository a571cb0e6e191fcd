"""Problems in OpenEvolve's format: config mapping, the evaluator adapter in the real sandbox, runs."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from evolve.evaluators.pool import evaluate_file
from evolve.evaluators.problem import load_problem
from evolve.openevolve_config import map_config
from evolve.openevolve_import import OpenEvolveFormatError, import_directory, register, resolve_problem_ref

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "tests" / "support" / "openevolve_example"

# The example's minimiser with its body replaced: stage 1 passes, stage 2 falls below 0.8.
MEDIOCRE = """\
# EVOLVE-BLOCK-START
def minimize(f, lo, hi, budget):
    return 1.3
# EVOLVE-BLOCK-END


def run_search(f, lo, hi, budget):
    return minimize(f, lo, hi, budget)
"""
# Stage 1 (the parabola) scores about 0.0025, far below the first threshold 0.5.
BAD = MEDIOCRE.replace("return 1.3", "return lo")


def example_config() -> dict:
    return yaml.safe_load((EXAMPLE / "config.yaml").read_text())


def example_copy(tmp_path: Path, config: dict | None = None, name: str = "example") -> Path:
    """A copy of the example directory, optionally with another config.yaml."""
    copy = tmp_path / name
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if config is not None:
        (copy / "config.yaml").write_text(yaml.safe_dump(config))
    return copy


def test_example_config_maps_onto_run_settings() -> None:
    mapped = map_config(example_config())
    evolve = mapped.evolve
    assert evolve["iterations"] == 40 and evolve["seed"] == 7
    models = evolve["llm"]["models"]
    assert [(m["name"], m["weight"]) for m in models] == [("openai/gpt-4o-mini", 0.8), ("openai/gpt-4o", 0.2)]
    assert [m["temperature"] for m in models] == [0.6, 0.3]  # the model's own value wins over the shared one
    assert all(m["max_tokens"] == 2048 and m["api_key_env"] == "OPENAI_API_KEY" for m in models)
    assert all(m["api_base"] == "https://api.openai.com/v1" for m in models)
    assert (evolve["llm"]["timeout_s"], evolve["llm"]["retries"], evolve["llm"]["backoff_base_s"]) == (90, 2, 3)
    assert evolve["llm"]["diff_ratio"] == 1.0
    assert evolve["llm"]["system_message"].startswith("You improve a one-dimensional minimiser")
    assert mapped.description == evolve["llm"]["system_message"]
    archive = evolve["archive"]
    assert (archive["num_islands"], archive["migration_interval"], archive["migration_rate"]) == (2, 5, 0.2)
    assert (archive["exploit_ratio"], archive["explore_ratio"]) == (0.6, 0.3)
    assert (archive["num_top_programs"], archive["num_inspirations"]) == (2, 3)
    assert mapped.features == [{"name": "length", "bins": 4}, {"name": "worst_case", "bins": 5}]
    assert archive["features"] == mapped.features
    assert (mapped.cascade, mapped.cascade_threshold, mapped.stage3_threshold) == (True, 0.5, 0.8)
    assert evolve["evaluation"] == {"slots": 2, "cascade_threshold": 0.5}
    assert mapped.limits == {"timeout_s": 20.0}


def test_stages_two_and_three_share_twice_the_timeout(tmp_path: Path) -> None:
    problem = load_problem(import_directory(EXAMPLE, tmp_path / "out").root)
    assert problem.limits.timeout_s == 40.0  # evaluator.timeout 20 s per OpenEvolve stage
    source = example_copy(tmp_path)
    evaluator = (source / "evaluator.py").read_text()
    (source / "evaluator.py").write_text(evaluator.replace("def evaluate_stage3(", "def unused_stage("))
    assert load_problem(import_directory(source, tmp_path / "out2").root).limits.timeout_s == 20.0


def test_every_unhonoured_key_is_reported_by_name() -> None:
    mapped = map_config(example_config())
    assert set(mapped.unsupported) == {
        "checkpoint_interval", "log_level", "max_code_length", "llm.top_p", "prompt.use_template_stochasticity",
        "database.population_size", "database.archive_size", "database.elite_selection_ratio",
        "evaluator.max_retries",
    }
    assert all(reason for reason in mapped.unsupported.values())


def test_harmless_values_pass_and_harmful_ones_are_reported() -> None:
    quiet = map_config({"evaluator": {"use_llm_feedback": False}, "llm": {"evaluator_models": [{"name": "x"}]},
                        "hierarchical": {"enabled": False}, "prompt": {"include_artifacts": True},
                        "language": None, "early_stopping_patience": None, "convergence_threshold": 0.001})
    assert quiet.unsupported == {}
    loud = map_config({"evaluator": {"use_llm_feedback": True}, "llm": {"evaluator_models": [{"name": "x"}]},
                       "hierarchical": {"enabled": True}, "prompt": {"include_artifacts": False},
                       "made_up_key": 1, "database": {"made_up_too": 2}, "language": "rust",
                       "early_stopping_patience": 5, "convergence_threshold": 0.001})
    assert set(loud.unsupported) == {"evaluator.use_llm_feedback", "llm.evaluator_models", "hierarchical",
                                     "prompt.include_artifacts", "made_up_key", "database.made_up_too", "language",
                                     "early_stopping_patience", "convergence_threshold"}


def test_literal_api_key_is_dropped_and_never_copied(tmp_path: Path) -> None:
    config = example_config()
    config["llm"]["api_key"] = "sk-literal-secret"
    imported = import_directory(example_copy(tmp_path, config), tmp_path / "out")
    assert "llm.api_key" in imported.unsupported
    written = "".join(p.read_text(errors="replace") for p in imported.root.rglob("*") if p.is_file())
    assert "sk-literal-secret" not in written
    models = yaml.safe_load((imported.root / "problem.yaml").read_text())["evolve"]["llm"]["models"]
    assert all("api_key_env" not in m for m in models)


def test_legacy_primary_and_secondary_models() -> None:
    mapped = map_config({"llm": {"primary_model": "a", "secondary_model": "b", "api_key": "$KEY_VAR"}})
    models = mapped.evolve["llm"]["models"]
    assert [(m["name"], m["weight"], m["api_key_env"]) for m in models] == [
        ("openai/a", 1.0, "KEY_VAR"), ("openai/b", 0.2, "KEY_VAR")]


def test_missing_config_uses_openevolve_evaluation_defaults(tmp_path: Path) -> None:
    source = example_copy(tmp_path)
    (source / "config.yaml").unlink()
    imported = import_directory(source, tmp_path / "out")
    problem = load_problem(imported.root)
    assert problem.cascade_threshold == 0.5
    assert problem.limits.timeout_s == 600.0  # OpenEvolve's 300 s, for stages 2 and 3 together
    assert "'stage3_threshold': 0.75" in (imported.root / "evaluate.py").read_text()
    assert any("no config.yaml" in note for note in imported.notes)


def test_config_that_breaks_our_rules_names_its_source(tmp_path: Path) -> None:
    config = example_config()
    config["database"]["exploitation_ratio"] = 0.9
    with pytest.raises(OpenEvolveFormatError, match="(?s)config.yaml.*exploit_ratio \\+ explore_ratio"):
        import_directory(example_copy(tmp_path, config), tmp_path / "out")


def test_generated_folder_is_a_native_problem(tmp_path: Path) -> None:
    imported = import_directory(EXAMPLE, tmp_path / "out")
    root = imported.root
    problem = load_problem(root)
    assert problem.name == "openevolve_example"
    assert problem.seed_code == (EXAMPLE / "initial_program.py").read_text()
    assert (root / "evaluator.py").read_bytes() == (EXAMPLE / "evaluator.py").read_bytes()
    assert not (root / "config.yaml").exists()
    assert (root / "openevolve" / "evaluation_result.py").is_file()
    readme = (root / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in imported.unsupported)
    assert problem.evolve["archive"]["features"] == problem.features


def test_program_without_markers_is_wrapped_whole(tmp_path: Path) -> None:
    source = example_copy(tmp_path)
    (source / "initial_program.py").write_text(MEDIOCRE.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", ""))
    imported = import_directory(source, tmp_path / "out")
    seed = (imported.root / "seed.py").read_text()
    assert seed.startswith("# EVOLVE-BLOCK-START\n") and seed.endswith("# EVOLVE-BLOCK-END\n")
    assert "def run_search" in seed
    assert any("no EVOLVE-BLOCK markers" in note for note in imported.notes)


def test_directory_without_a_recognisable_program_is_refused(tmp_path: Path) -> None:
    source = example_copy(tmp_path)
    (source / "initial_program.py").rename(source / "main.py")
    (source / "other.py").write_text("# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n")
    with pytest.raises(OpenEvolveFormatError, match="main.py, other.py"):
        import_directory(source, tmp_path / "out")
    (source / "evaluator.py").write_text("def score(path):\n    return {}\n")
    (source / "other.py").unlink()
    with pytest.raises(OpenEvolveFormatError, match="neither evaluate"):
        import_directory(source, tmp_path / "out2")


def test_adapter_maps_cascade_scores_and_artifacts_in_the_sandbox(tmp_path: Path) -> None:
    problem = load_problem(import_directory(EXAMPLE, tmp_path / "out").root)
    (tmp_path / "mediocre.py").write_text(MEDIOCRE)
    (tmp_path / "bad.py").write_text(BAD)

    best = evaluate_file(problem, problem.program_path)
    assert best.status == "ok" and [s.name for s in best.stages] == ["quick", "full"]
    assert best.metrics["quick_combined_score"] == pytest.approx(best.metrics["quick_score"])
    assert best.metrics["quick_score"] > 0.99  # the parabola, found by the grid search
    assert "robustness" in best.metrics  # stage 2 passed 0.8, so stage 3 ran and its score is the fitness
    assert best.score == pytest.approx(best.metrics["combined_score"])
    assert best.score < best.metrics["quick_score"]
    assert "narrow_well" in best.artifacts["hard_functions"]
    assert best.artifacts["raw_scores"].startswith("[('parabola'")  # bytes became text
    assert "wave" in best.artifacts["per_function"]

    mediocre = evaluate_file(problem, tmp_path / "mediocre.py")
    assert mediocre.status == "ok" and "robustness" not in mediocre.metrics
    assert mediocre.metrics["quick_score"] == pytest.approx(1.0)
    assert mediocre.score == pytest.approx(mediocre.metrics["combined_score"]) and mediocre.score < 0.8
    assert "hard_functions" not in mediocre.artifacts

    bad = evaluate_file(problem, tmp_path / "bad.py")
    assert bad.status == "culled" and bad.score is None
    assert bad.metrics["quick_score"] < 0.5 and [s.name for s in bad.stages] == ["quick"]


def test_adapter_without_cascade_uses_evaluate_and_the_metric_mean(tmp_path: Path) -> None:
    config = example_config()
    config["evaluator"]["cascade_evaluation"] = False
    problem = load_problem(import_directory(example_copy(tmp_path, config), tmp_path / "out").root)
    assert problem.cascade_threshold is None
    result = evaluate_file(problem, problem.program_path)
    assert result.status == "ok" and [s.name for s in result.stages] == ["full"]
    assert "status" not in result.metrics  # a string metric is dropped...
    notes = result.artifacts["openevolve_import"]
    assert "'status' is not a number" in notes and "scored" in notes  # ...with a note that keeps its text
    assert "no combined_score" in notes
    expected = (result.metrics["accuracy"] + result.metrics["worst_case"]) / 2  # worst_case is a feature: left out
    assert result.score == pytest.approx(result.metrics["accuracy"])
    assert result.score != pytest.approx(expected)
    assert result.metrics["combined_score"] == pytest.approx(result.score)


def test_resolve_problem_ref_caches_by_content(tmp_path: Path) -> None:
    source = example_copy(tmp_path)
    cache = tmp_path / "cache"
    first = resolve_problem_ref(str(source), cache)
    assert resolve_problem_ref(str(source), cache) == first
    assert Path(first).parent == cache.resolve() and Path(first).name.startswith("example-")
    (source / "data.txt").write_text("changed")
    second = resolve_problem_ref(str(source), cache)
    assert second != first and (Path(second) / "data.txt").read_text() == "changed"
    assert resolve_problem_ref("bin_packing", cache) == "bin_packing"
    assert resolve_problem_ref(first, cache) == first  # a native folder stays as it is


def test_import_command_writes_a_folder_and_lists_unhonoured_keys(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps the subcommand name on the line
    result = CliRunner().invoke(app, ["import", str(EXAMPLE), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "9 OpenEvolve settings are not honoured" in result.output
    assert "database.elite_selection_ratio" in result.output
    assert (tmp_path / "out" / "problem.yaml").is_file()
    again = CliRunner().invoke(app, ["import", str(EXAMPLE), "-o", str(tmp_path / "out")])
    assert again.exit_code == 2


@pytest.mark.slow
def test_evolve_run_accepts_the_openevolve_directory_as_it_is(tmp_path: Path) -> None:
    """`evolve run DIR` on the untouched OpenEvolve folder: converted on the fly, then run."""
    source = tmp_path / "oe_problem"
    shutil.copytree(EXAMPLE, source)
    (tmp_path / "offline.yaml").write_text("llm:\n  models: []\n")
    db = tmp_path / "x.db"
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "run", str(source), "-n", "6", "--db", f"sqlite:///{db}",
         "--config", str(tmp_path / "offline.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "stopped: iterations; 6 candidates" in completed.stdout
    assert "not honoured" in completed.stdout + completed.stderr or "cannot honour" in completed.stdout + completed.stderr
    root = resolve_problem_ref(str(source), tmp_path / "cache")
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT status, score FROM programs").fetchall()
    assert len(rows) == 7  # the seed and six candidates
    seed_score = evaluate_file(load_problem(root), Path(root) / "seed.py").score
    assert any(status == "ok" and score == pytest.approx(seed_score) for status, score in rows)
    assert any(status in ("ok", "culled") for status, _ in rows[1:])


@pytest.mark.slow
def test_evolve_run_goes_on_from_a_seed_the_cascade_culls(tmp_path: Path) -> None:
    """Circle packing's case: the seed's stage 1 is below the first threshold."""
    source = example_copy(tmp_path, name="culled_seed")
    (source / "initial_program.py").write_text(BAD)
    (tmp_path / "offline.yaml").write_text("llm:\n  models: []\n")
    db = tmp_path / "x.db"
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "run", str(source), "-n", "4", "--db", f"sqlite:///{db}",
         "--config", str(tmp_path / "offline.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "stopped: iterations; 4 candidates" in completed.stdout
    with sqlite3.connect(db) as connection:
        status, score, artifacts = connection.execute(
            "SELECT status, score, artifacts FROM programs WHERE origin = 'seed'").fetchone()
        children = connection.execute("SELECT count(*) FROM programs WHERE origin != 'seed'").fetchone()[0]
    assert status == "ok" and 0 < score < 0.5
    assert "below the threshold 0.5: the seed is kept with its quick-stage score" in artifacts
    assert children == 4


@pytest.mark.slow
def test_mapped_models_reach_their_endpoint_with_key_system_message_and_sampling(
    openai_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evolve.cli import app

    monkeypatch.setenv("EXAMPLE_KEY", "sk-from-the-environment")
    config = example_config()
    config["llm"].update(api_base=openai_server.api_base, api_key="${EXAMPLE_KEY}")
    root = import_directory(example_copy(tmp_path, config), tmp_path / "out").root
    result = CliRunner().invoke(app, ["run", str(root), "-n", "4", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    requests = openai_server.requests
    assert len(requests) >= 4
    assert {r.model for r in requests} <= {"gpt-4o-mini", "gpt-4o"}
    for request in requests:
        assert request.headers["authorization"] == "Bearer sk-from-the-environment"
        assert request.body["temperature"] == {"gpt-4o-mini": 0.6, "gpt-4o": 0.3}[request.model]
        assert request.body["max_tokens"] == 2048
        assert "one-dimensional minimiser" in request.messages[0]["content"]


def adrs_style_copy(tmp_path: Path, name: str = "adrs") -> Path:
    """The example as an ADRS folder ships it: the program is initial_greedy.py and its
    markers are spelt with a space."""
    source = example_copy(tmp_path, name=name)
    program = (source / "initial_program.py").read_text()
    (source / "initial_program.py").unlink()
    spaced = program.replace("EVOLVE-BLOCK-START", "EVOLVE-BLOCK START").replace("EVOLVE-BLOCK-END", "EVOLVE-BLOCK END")
    (source / "initial_greedy.py").write_text(spaced)
    return source


def test_program_of_a_usual_name_with_spaced_markers_is_found_and_evaluated(tmp_path: Path) -> None:
    source = adrs_style_copy(tmp_path)
    problem = load_problem(import_directory(source, tmp_path / "out").root)
    assert problem.seed_code == (source / "initial_greedy.py").read_text()
    assert "# EVOLVE-BLOCK START" in problem.seed_code
    result = evaluate_file(problem, problem.program_path)
    assert result.status == "ok" and result.metrics["quick_score"] > 0.99


def test_the_initial_program_can_be_named_by_argument_path_or_config_key(tmp_path: Path) -> None:
    source = adrs_style_copy(tmp_path)
    greedy = (source / "initial_greedy.py").read_text()
    (source / "initial_random.py").write_text(greedy.replace("def minimize", "def minimize_random"))
    with pytest.raises(OpenEvolveFormatError, match="initial_greedy.py, initial_random.py"):
        import_directory(source, tmp_path / "refused")
    named = load_problem(import_directory(source, tmp_path / "named", program="initial_random.py").root)
    assert "def minimize_random" in named.seed_code
    by_path = resolve_problem_ref(str(source / "initial_greedy.py"), tmp_path / "cache")
    assert load_problem(by_path).seed_code == greedy
    by_argument = resolve_problem_ref(str(source), tmp_path / "cache", program="initial_random.py")
    assert by_argument != by_path and "def minimize_random" in load_problem(by_argument).seed_code
    config = example_config()
    config["initial_program"] = "initial_random.py"
    (source / "config.yaml").write_text(yaml.safe_dump(config))
    assert "def minimize_random" in load_problem(import_directory(source, tmp_path / "keyed").root).seed_code
    with pytest.raises(OpenEvolveFormatError, match="'missing.py' is not a file in the directory"):
        import_directory(source, tmp_path / "missing", program="missing.py")
    with pytest.raises(OpenEvolveFormatError, match="not an OpenEvolve directory"):
        resolve_problem_ref("bin_packing", tmp_path / "cache", program="seed.py")


@pytest.mark.slow
def test_evolve_run_takes_the_initial_program_as_a_second_argument(tmp_path: Path) -> None:
    source = adrs_style_copy(tmp_path)
    greedy = (source / "initial_greedy.py").read_text()
    (source / "initial_other.py").write_text(greedy.replace("def minimize", "def minimize_other"))
    (tmp_path / "offline.yaml").write_text("llm:\n  models: []\n")
    db = tmp_path / "x.db"
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "run", str(source), "initial_greedy.py", "-n", "3",
         "--db", f"sqlite:///{db}", "--config", str(tmp_path / "offline.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "stopped: iterations; 3 candidates" in completed.stdout
    with sqlite3.connect(db) as connection:
        (seed_code,) = connection.execute("SELECT code FROM programs WHERE origin = 'seed'").fetchone()
    assert seed_code == greedy


def test_evolve_eval_and_run_name_the_initial_program_or_say_which_are_there(tmp_path: Path) -> None:
    from evolve.cli import app

    source = adrs_style_copy(tmp_path)
    (source / "initial_other.py").write_text((source / "initial_greedy.py").read_text())
    scored = CliRunner().invoke(app, ["eval", str(source), str(source / "initial_greedy.py"), "--json",
                                      "--program", "initial_greedy.py"])
    assert scored.exit_code == 0, scored.output
    assert '"status": "ok"' in scored.output
    ambiguous = CliRunner().invoke(app, ["eval", str(source), str(source / "initial_greedy.py")])
    assert ambiguous.exit_code == 2 and "initial_greedy.py, initial_other.py" in ambiguous.output
    missing = CliRunner().invoke(app, ["run", str(source), "initial_missing.py", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert missing.exit_code == 2 and "'initial_missing.py' is not a file in the directory" in missing.output
    assert "Traceback" not in missing.output


@pytest.mark.slow
def test_evolve_run_takes_the_program_inside_an_openevolve_directory(tmp_path: Path) -> None:
    source = adrs_style_copy(tmp_path)
    (source / "initial_other.py").write_text((source / "initial_greedy.py").read_text())
    (tmp_path / "offline.yaml").write_text("llm:\n  models: []\n")
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "evolve.cli", "run", str(source / "initial_greedy.py"), "-n", "3",
         "--db", f"sqlite:///{tmp_path / 'x.db'}", "--config", str(tmp_path / "offline.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "stopped: iterations; 3 candidates" in completed.stdout
