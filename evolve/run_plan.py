"""What a new run will be, settled before anything heavy is imported.

The problem and the configuration decide everything that follows; with them known, the
seed's evaluation can begin at once on a local sandbox (``LocalSlot``) while the driver
imports the database, Ray and the model client, so that the first evaluation does not
wait for the imports. Bad input (an unknown problem, a malformed configuration) is
refused here, before any process starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from evolve.config import RunConfig, build_config, deep_merge
from evolve.evaluators.local_slot import LocalSlot
from evolve.evaluators.problem import PROBLEMS_DIR, Problem, load_problem
from evolve.openevolve_import import DEFAULT_CACHE_DIR, resolve_problem_ref


def effective_config(problem: Problem, config_file: Path | None, cli: dict[str, Any]) -> RunConfig:
    layer: dict[str, Any] = {}
    if problem.features:
        layer["archive"] = {"features": problem.features}
    if problem.cascade_threshold is not None:
        layer["evaluation"] = {"cascade_threshold": problem.cascade_threshold}
    layer = deep_merge(layer, problem.evolve)
    return build_config(problem_overrides=layer, config_file=config_file, cli_overrides=cli)


def with_problem_threshold(problem: Problem, config: RunConfig) -> Problem:
    """The run's cascade threshold (config wins over problem.yaml) is what the pool applies."""
    threshold = config.evaluation.cascade_threshold
    if threshold is None or threshold == problem.cascade_threshold:
        return problem
    return problem.model_copy(update={"cascade_threshold": threshold})


def problem_reference(problem: Problem) -> str:
    """A problem under problems/ is stored by name, anything else by absolute path."""
    return problem.name if problem.root.parent == PROBLEMS_DIR.resolve() else str(problem.root)


@dataclass
class RunPlan:
    """A new run's problem and configuration, and the local slot already scoring its seed."""

    problem: Problem
    config: RunConfig
    local: LocalSlot | None

    def close(self) -> None:
        """Stop the slot when the run never got as far as its pool."""
        if self.local is not None:
            self.local.close()


def plan_run(problem_ref: str, config_file: Path | None, cli: dict[str, Any], console: Console,
             program: str | None = None) -> RunPlan:
    """``program`` names the initial program when ``problem_ref`` is an OpenEvolve directory."""
    problem = load_problem(resolve_problem_ref(problem_ref, DEFAULT_CACHE_DIR, console, program))
    config = effective_config(problem, config_file, cli)
    local = None
    if problem.limits.gpus == 0:
        local = LocalSlot(with_problem_threshold(problem, config))
        local.begin(problem.seed_code, "train")
    return RunPlan(problem, config, local)
