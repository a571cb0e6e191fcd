from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import evolve.evaluators.problem as problem_module
from evolve.evaluators.problem import ProblemError, list_problems, load_problem


def write_folder(root: Path, spec: dict, seed: str = "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "problem.yaml").write_text(yaml.safe_dump(spec))
    (root / "seed.py").write_text(seed)
    (root / "evaluate.py").write_text("def evaluate(program_path, split='train'):\n    return {'score': 1.0}\n")
    return root


def test_defaults_fill_in_and_paths_are_absolute(tmp_path):
    root = write_folder(tmp_path / "packing", {"description": "\nPack bins online.\nMore detail here."})
    problem = load_problem(root)
    assert problem.name == "packing"
    assert problem.summary == "Pack bins online."
    assert problem.program_path == root / "seed.py"
    assert problem.evaluator_path == root / "evaluate.py"
    assert "EVOLVE-BLOCK-START" in problem.seed_code
    assert problem.limits.timeout_s == 60 and problem.limits.gpus == 0
    assert problem.cascade_threshold is None
    assert "test" in problem.splits
    assert problem.evolve == {}


def test_all_keys_are_read(tmp_path):
    spec = {
        "name": "renamed", "description": "d", "program": "seed.py", "evaluator": "evaluate.py",
        "limits": {"timeout_s": 5, "memory_mb": 512, "cpus": 2, "gpus": 1, "max_output_kb": 8},
        "features": [{"name": "complexity", "bins": 5}], "cascade_threshold": 0.5,
        "splits": {"train": "small", "validation": "mid"}, "evolve": {"iterations": 7},
    }
    problem = load_problem(write_folder(tmp_path / "p", spec))
    assert problem.name == "renamed"
    assert (problem.limits.timeout_s, problem.limits.memory_mb, problem.limits.cpus) == (5, 512, 2)
    assert problem.features == [{"name": "complexity", "bins": 5}]
    assert problem.cascade_threshold == 0.5
    assert "test" not in problem.splits
    assert problem.evolve == {"iterations": 7}


def test_unknown_top_level_key_names_file_key_and_valid_keys(tmp_path):
    root = write_folder(tmp_path / "p", {"descripton": "typo"})
    with pytest.raises(ProblemError) as info:
        load_problem(root)
    message = str(info.value)
    assert str(root / "problem.yaml") in message
    assert "'descripton'" in message and "description" in message and "cascade_threshold" in message


def test_unknown_limits_key_lists_the_limits_keys(tmp_path):
    root = write_folder(tmp_path / "p", {"limits": {"timeout": 3}})
    with pytest.raises(ProblemError, match=r"unknown key 'timeout' at limits; valid keys there: timeout_s, memory_mb"):
        load_problem(root)


def test_bad_value_is_reported_with_its_key(tmp_path):
    root = write_folder(tmp_path / "p", {"limits": {"timeout_s": -1}})
    with pytest.raises(ProblemError, match=r"limits\.timeout_s"):
        load_problem(root)


def test_bad_feature_is_reported_against_problem_yaml(tmp_path):
    root = write_folder(tmp_path / "p", {"features": [{"name": "complexity", "bins": 0}]})
    with pytest.raises(ProblemError, match=r"features\[0\]: bins"):
        load_problem(root)


def test_seed_without_markers_is_refused(tmp_path):
    root = write_folder(tmp_path / "p", {}, seed="x = 1\n")
    with pytest.raises(ProblemError, match="EVOLVE-BLOCK-START"):
        load_problem(root)


def test_missing_evaluator_and_escaping_paths_are_refused(tmp_path):
    root = write_folder(tmp_path / "p", {"evaluator": "score.py"})
    with pytest.raises(ProblemError, match="evaluator 'score.py' does not exist"):
        load_problem(root)
    (tmp_path / "outside.py").write_text("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n")
    root = write_folder(tmp_path / "q", {"program": "../outside.py"})
    with pytest.raises(ProblemError, match="outside the problem folder"):
        load_problem(root)


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path):
    root = write_folder(tmp_path / "p", {})
    (root / "problem.yaml").write_text("- a\n- b\n")
    with pytest.raises(ProblemError, match="mapping"):
        load_problem(root)


def test_names_resolve_under_the_problems_dir_and_unknown_names_list_known_ones(tmp_path, monkeypatch):
    write_folder(tmp_path / "alpha", {"description": "first"})
    write_folder(tmp_path / "beta", {"description": "second"})
    monkeypatch.setattr(problem_module, "PROBLEMS_DIR", tmp_path)
    assert load_problem("beta").summary == "second"
    assert [p.name for p in list_problems()] == ["alpha", "beta"]
    with pytest.raises(ProblemError, match="known: alpha, beta"):
        load_problem("gamma")


def test_a_missing_candidate_package_is_one_line_naming_the_install(tiny_problem, write_program):
    from evolve.evaluators.pool import evaluate_file
    from evolve.evaluators.problem import ProblemError

    problem = tiny_problem(scoring="channel", candidate={"packages": ["numpy", "no-such-package-evolve"]})
    with pytest.raises(ProblemError) as error:
        evaluate_file(problem, write_program("def solve(x):\n    return x\n"))
    message = str(error.value)
    assert "\n" not in message
    assert "no-such-package-evolve" in message and "pip install no-such-package-evolve" in message


ON_DEMAND_EVALUATOR = """\
def evaluate(candidate, split="train"):
    loaded = candidate.call("loaded_before_use")
    return {"score": float(candidate.call("use")), "numpy_preloaded": float(loaded["numpy"]),
            "yaml_preloaded": float(loaded["yaml"])}
"""
ON_DEMAND_PROGRAM = """\
import sys


def loaded_before_use():
    return {name: name in sys.modules for name in ("numpy", "yaml")}


def use():
    import yaml
    return yaml.safe_load("answer: 7")["answer"]
"""


def test_an_on_demand_package_is_importable_but_not_preloaded(tiny_problem, write_program):
    from evolve.evaluators.pool import evaluate_file

    problem = tiny_problem(scoring="channel", evaluator=ON_DEMAND_EVALUATOR,
                           candidate={"packages": ["numpy"], "on_demand_packages": ["PyYAML"]})
    result = evaluate_file(problem, write_program(ON_DEMAND_PROGRAM))
    assert result.status == "ok", result.artifacts
    assert result.score == 7.0
    assert result.metrics["numpy_preloaded"] == 1.0 and result.metrics["yaml_preloaded"] == 0.0


def test_a_package_neither_listed_nor_on_demand_is_not_shown_in_the_sandbox(tiny_problem, write_program):
    from evolve.evaluators.confinement import probe_bwrap
    from evolve.evaluators.pool import evaluate_file

    if not probe_bwrap():
        pytest.skip("without bubblewrap every installed package is visible")
    problem = tiny_problem(scoring="channel", evaluator=ON_DEMAND_EVALUATOR, candidate={"packages": ["numpy"]})
    result = evaluate_file(problem, write_program(ON_DEMAND_PROGRAM))
    assert result.status == "error"
    assert "No module named 'yaml'" in result.artifacts["error"]


def test_a_missing_on_demand_package_does_not_stop_loading_or_evaluation(tiny_problem, write_program):
    from evolve.evaluators.candidate_view import missing_packages
    from evolve.evaluators.pool import evaluate_file

    evaluator = "def evaluate(candidate, split='train'):\n    return {'score': float(candidate.call('solve', 2))}\n"
    problem = tiny_problem(scoring="channel", evaluator=evaluator,
                           candidate={"packages": ["numpy"], "on_demand_packages": ["no-such-package-evolve"]})
    problem_module.require_packages(problem)
    assert missing_packages(problem.candidate.on_demand_packages) == ["no-such-package-evolve"]
    result = evaluate_file(problem, write_program("def solve(x):\n    return x\n"))
    assert (result.status, result.score) == ("ok", 2.0)
