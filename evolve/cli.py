"""The ``evolve`` command: launch, resume and inspect evolution runs."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from database import DEFAULT_URL, DatabaseError
from evaluators.problem import ProblemError, list_problems, load_problem
from evolve.config import ConfigError
from evolve.engine import SeedFailed
from evolve.ensemble import EnsembleError
from evolve.prompts import PromptError
from evolve.launch import RunRequest, resume_run, start_run

app = typer.Typer(
    help="LLM-driven evolutionary discovery of systems algorithms.\n\n"
    "Example: evolve run bin_packing --iterations 100",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
if not console.is_terminal:
    console = Console(soft_wrap=True)  # a pipe gets whole lines, not lines cut at 80 columns
err = Console(stderr=True)

DbOption = typer.Option(DEFAULT_URL, "--db", help="database URL (SQLite path or postgresql://...)")
RayOption = typer.Option(None, "--ray-address", help="join this Ray cluster ('auto' or host:port); default: a private local one")
JsonOption = typer.Option(False, "--json", help="machine-readable output")

USER_ERRORS = (ConfigError, ProblemError, DatabaseError, SeedFailed, EnsembleError, PromptError)  # LLMConfigError is a ConfigError


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def cli_overrides(**flags: Any) -> dict[str, Any]:
    """Only the flags the user actually gave, nested as in the config file."""
    out: dict[str, Any] = {}
    for key in ("iterations", "max_in_flight", "seed", "max_wall_s", "budget_usd", "target_score"):
        if flags.get(key) is not None:
            out[key] = flags[key]
    models = flags.get("models") or []
    if models:
        out["llm"] = {"models": [{"name": m, "api_base": flags.get("api_base")} for m in models]}
    return out


@app.command()
def run(
    problem: str = typer.Argument(..., help="a problem name under problems/ or a path to a problem folder"),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", help="candidates to make"),
    max_in_flight: Optional[int] = typer.Option(None, "--max-in-flight", "-k", help="candidates in flight at once"),
    seed: Optional[int] = typer.Option(None, "--seed", help="fixes all randomness of selection and the offline mutator"),
    model: Optional[list[str]] = typer.Option(None, "--model", help="litellm model name; repeat for an ensemble"),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="OpenAI-compatible endpoint for --model"),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML run configuration"),
    max_wall: Optional[float] = typer.Option(None, "--max-wall", help="stop after this many seconds"),
    budget: Optional[float] = typer.Option(None, "--budget", help="stop before spending more than this many dollars"),
    target: Optional[float] = typer.Option(None, "--target", help="stop once the best train score reaches this"),
    name: Optional[str] = typer.Option(None, "--name", help="a name for the run (default: PROBLEM-ID)"),
    db: str = DbOption,
    ray_address: Optional[str] = RayOption,
) -> None:
    """Start an evolution run.

    Precedence: defaults < problem.yaml's evolve: section < --config < flags.

    Example: evolve run bin_packing -n 200 --seed 1
    Example: evolve run bin_packing --model openai/gpt-4o-mini --budget 2
    """
    overrides = cli_overrides(
        iterations=iterations, max_in_flight=max_in_flight, seed=seed, max_wall_s=max_wall,
        budget_usd=budget, target_score=target, models=model, api_base=api_base,
    )
    try:
        start_run(problem, config, overrides, RunRequest(db_url=db, ray_address=ray_address, name=name), console)
    except USER_ERRORS as exc:
        fail(str(exc))


@app.command()
def resume(
    run_ref: str = typer.Argument(..., metavar="RUN", help="run id, name, or 'latest'"),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", help="raise the run's candidate target"),
    db: str = DbOption,
    ray_address: Optional[str] = RayOption,
) -> None:
    """Continue a stopped or killed run from the database, with nothing lost or repeated.

    Example: evolve resume latest
    """
    extra = {"iterations": iterations} if iterations is not None else {}
    try:
        resume_run(run_ref, extra, RunRequest(db_url=db, ray_address=ray_address), console)
    except USER_ERRORS as exc:
        fail(str(exc))


@app.command("eval")
def eval_(
    problem: str = typer.Argument(..., help="a problem name or folder"),
    file: Path = typer.Argument(..., help="the program to score", exists=True, dir_okay=False),
    split: str = typer.Option("train", "--split", help="train or test"),
    as_json: bool = JsonOption,
) -> None:
    """Score one program with the problem's evaluator, in the same sandbox a run uses.

    Example: evolve eval bin_packing problems/bin_packing/baselines/first_fit.py --split test
    """
    from evaluators.pool import evaluate_file
    from evaluators.sandbox import SandboxError
    from evolve.openevolve_import import DEFAULT_CACHE_DIR, resolve_problem_ref

    try:
        loaded = load_problem(resolve_problem_ref(problem, DEFAULT_CACHE_DIR, err))
        result = evaluate_file(loaded, file, split)
    except (ProblemError, SandboxError) as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print_result(result)
    if not result.ok:
        raise typer.Exit(1)


def print_result(result: Any) -> None:
    table = Table(show_header=False, title=f"status: {result.status}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("score", "-" if result.score is None else f"{result.score:.6g}")
    for key, value in sorted(result.metrics.items()):
        table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
    for stage in result.stages:
        table.add_row(f"stage {stage.name}", f"{stage.status}, {stage.wall_s:.3f} s wall, {stage.cpu_s:.3f} s CPU")
    console.print(table)
    for key, text in result.artifacts.items():
        console.rule(key)
        console.print(text, markup=False, highlight=False)


@app.command()
def problems(as_json: bool = JsonOption) -> None:
    """List the problems under problems/ with one-line descriptions.

    Example: evolve problems
    """
    try:
        found = list_problems()
    except ProblemError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps([{"name": p.name, "summary": p.summary, "path": str(p.root)} for p in found], indent=2))
        return
    table = Table("problem", "description")
    for p in found:
        table.add_row(p.name, p.summary)
    console.print(table)


@app.command("new-problem")
def new_problem(
    name: str = typer.Argument(..., help="folder name of the new problem"),
    directory: Optional[Path] = typer.Option(None, "--dir", help="where to create it (default: problems/)"),
) -> None:
    """Scaffold a problem folder that `evolve run` accepts at once.

    Example: evolve new-problem my_scheduler && evolve run my_scheduler -n 20
    """
    from evaluators.problem import PROBLEMS_DIR
    from evolve.scaffold import ScaffoldError, scaffold_problem

    try:
        root = scaffold_problem(name, directory or PROBLEMS_DIR)
    except ScaffoldError as exc:
        fail(str(exc))
    console.print(f"created {root}: edit seed.py and evaluate.py, then run: evolve run {root}", highlight=False)


@app.command()
def test(
    run_ref: str = typer.Argument(..., metavar="RUN", help="run id, name, or 'latest'"),
    top: int = typer.Option(3, "--top", help="how many of the best programs to score"),
    db: str = DbOption,
    ray_address: Optional[str] = RayOption,
) -> None:
    """Score the seed and the run's best programs on the held-out test split.

    Example: evolve test latest --top 5
    """
    from evaluators.pool import EvaluationPool
    from evolve.launch import open_stored_run, score_test_split

    try:
        stored = open_stored_run(db, run_ref)
    except USER_ERRORS as exc:
        fail(str(exc))
    archive = stored.archive()

    async def go() -> None:
        slots = max(1, min(top + 1, stored.config.max_in_flight))
        pool = EvaluationPool(stored.problem, slots=slots, ray_address=ray_address)
        try:
            await score_test_split(stored.db, archive, pool, top, console)
        finally:
            pool.close()
            archive.close()

    asyncio.run(go())


@app.command()
def prompt(
    run_ref: str = typer.Argument(..., metavar="RUN", help="run id, name, or 'latest'"),
    program_id: int = typer.Argument(..., metavar="PROGRAM", help="the program to use as the parent"),
    mode: Optional[str] = typer.Option(None, "--mode", help="diff or rewrite (default: as the run would choose)"),
    db: str = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Print the exact messages the run would send a model with PROGRAM as the parent.

    Example: evolve prompt latest 42 --mode diff
    """
    from evolve.engine import candidate_seed, mutation_request
    from evolve.launch import open_stored_run
    from evolve.llm_mutator import LLMMutator
    from evolve.prompts import render_messages

    try:
        stored = open_stored_run(db, run_ref)
        config, archive = stored.config, stored.archive()
        sample = archive.sample_for(program_id)
        request = mutation_request(stored.problem, sample, candidate_seed(config.seed, archive.counts()["total"]))
        archive.close()
    except USER_ERRORS as exc:
        fail(str(exc))
    if mode is None:
        mode, messages = LLMMutator(config.llm, rng_seed=config.seed).prompt_for(request)
    elif mode in ("diff", "rewrite"):
        messages = render_messages(request, mode, system_message=config.llm.system_message)
    else:
        fail(f"--mode must be diff or rewrite, not {mode!r}")
    if as_json:
        print(json.dumps({"mode": mode, "messages": messages}, indent=2))
        return
    if not config.llm.models:
        err.print("note: this run uses the offline mutator, which sends no prompt; shown is what a model would get")
    for message in messages:
        console.rule(f"{message['role']} ({mode})")
        console.print(message["content"], markup=False, highlight=False)


def _register_command_modules() -> None:
    """Commands that live beside the concept they serve."""
    from evolve.browse import register as register_browsing
    from evolve.openevolve_import import register as register_openevolve_import

    register_browsing(app)
    register_openevolve_import(app)


_register_command_modules()


def main() -> None:
    app(prog_name="evolve")


if __name__ == "__main__":
    sys.exit(main())
