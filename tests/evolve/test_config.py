"""Run configuration: precedence and error messages a user can act on."""

from pathlib import Path

import pytest

from evolve.config import ConfigError, build_config


def test_defaults_apply_without_any_layer():
    config = build_config()
    assert config.iterations == 100
    assert config.llm.models == []


def test_precedence_defaults_problem_file_flags(tmp_path: Path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text("iterations: 30\nmax_in_flight: 3\narchive: {num_islands: 2}\n")
    config = build_config(
        problem_overrides={"iterations": 10, "seed": 5, "archive": {"num_islands": 7, "migration_rate": 0.5}},
        config_file=config_file,
        cli_overrides={"iterations": 50},
    )
    assert config.iterations == 50  # flag beats file beats problem
    assert config.max_in_flight == 3  # file
    assert config.seed == 5  # problem.yaml
    assert config.archive.num_islands == 2  # file beats problem, key by key
    assert config.archive.migration_rate == 0.5  # problem value kept where the file is silent


def test_unknown_key_names_the_key_and_the_valid_ones(tmp_path: Path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text("archive:\n  num_islandz: 3\n")
    with pytest.raises(ConfigError) as info:
        build_config(config_file=config_file)
    message = str(info.value)
    assert str(config_file) in message
    assert "'num_islandz'" in message and "at archive" in message
    assert "num_islands" in message and "migration_interval" in message


def test_misplaced_key_is_reported_where_it_stands():
    with pytest.raises(ConfigError) as info:
        build_config(cli_overrides={"llm": {"num_islands": 2}})
    assert "unknown key 'num_islands' at llm" in str(info.value)
    assert "models" in str(info.value)


def test_key_inside_a_list_item_is_checked():
    with pytest.raises(ConfigError) as info:
        build_config(problem_overrides={"llm": {"models": [{"name": "m", "tempreature": 1.0}]}})
    assert "'tempreature'" in str(info.value) and "temperature" in str(info.value)
    assert "problem.yaml" in str(info.value)


def test_wrong_value_type_is_reported_with_the_value():
    with pytest.raises(ConfigError) as info:
        build_config(cli_overrides={"iterations": "many"})
    assert "iterations" in str(info.value) and "'many'" in str(info.value)


def test_config_file_errors_are_clear(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        build_config(config_file=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        build_config(config_file=bad)
