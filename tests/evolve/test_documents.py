"""Every YAML document a user writes is read and described by one module."""

from __future__ import annotations

import pytest

from evolve.config import ConfigError, build_config
from evolve.evaluators.problem import ProblemError, load_problem
from evolve.openevolve_config import OpenEvolveFormatError
from evolve.openevolve_import import _read_config

BROKEN = "llm:\n  models: [a\n  diff_ratio: 0.5\n"


@pytest.mark.parametrize("read, error", [
    (lambda path: build_config(config_file=path), ConfigError),
    (lambda path: _read_config(path), OpenEvolveFormatError),
    (lambda path: load_problem(path.parent), ProblemError),
])
def test_a_broken_document_is_one_line_naming_file_and_line(tmp_path, read, error):
    path = tmp_path / "problem.yaml"
    path.write_text(BROKEN)
    with pytest.raises(error) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"{path} is not valid YAML: line ") and "\n" not in message


def test_a_list_at_the_top_is_refused_in_the_same_words(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping at the top level, not list"):
        build_config(config_file=path)


def test_unknown_keys_name_the_valid_ones_in_config_and_problem_alike(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("archive:\n  num_island: 2\n")
    with pytest.raises(ConfigError, match="unknown key 'num_island' at archive; valid keys there: num_islands, "):
        build_config(config_file=config)
    (tmp_path / "problem.yaml").write_text("candidate:\n  build:\n    source: a.cpp\n    command: [g++]\n    flags: 1\n")
    with pytest.raises(ProblemError, match="unknown key 'flags' at candidate.build; valid keys there: source, command"):
        load_problem(tmp_path)
