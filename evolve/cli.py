"""The ``evolve`` command: launch, resume and inspect evolution runs.

Each command imports what it uses when it runs: ``evolve --help`` and the browsing commands
never load Ray, litellm, FastAPI or the evaluators (tests/evolve/test_cli_imports.py).
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Optional

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from evolve.database import DEFAULT_URL, DEFAULT_WAIT_S
from evolve.database.errors import DatabaseError
from evolve.errors import EvolveError

console = Console()
if not console.is_terminal:
    console = Console(soft_wrap=True)  # a pipe gets whole lines, not lines cut at 80 columns
err = Console(stderr=True)

# What each error means to the shell, for the packages whose errors carry no ``exit_code``
# (evolve's and the database's carry their own): 2 bad input, 1 a failure during the work.
# Named by module so that none is imported for it: an error can only come from a module
# that is already loaded.
EXIT_CODES: tuple[tuple[str, str, int], ...] = (
    ("evolve.evaluators.problem", "ProblemError", 2),
    ("evolve.prompts", "PromptError", 2),
    ("evolve.scaffold", "ScaffoldError", 2),
    ("evolve.evaluators.sandbox", "SandboxError", 1),
    ("sqlalchemy.exc", "SQLAlchemyError", 1),
)

# Commands whose modules load only when the command runs or shows its own help: name ->
# (module with ``register(app)``, the one line ``evolve --help`` lists).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("evolve.openevolve_import", "Convert a problem written for OpenEvolve into a native problem folder."),
    "cluster": ("evolve.cluster", "Start, stop or show the warm local Ray cluster that runs on this machine join."),
}


def _loaded(module: str, name: str) -> type[BaseException] | None:
    return getattr(sys.modules.get(module), name, None)


def exit_code_of(error: BaseException) -> int | None:
    """The exit code an error stands for, or None for a bug (which keeps its traceback)."""
    if isinstance(error, (EvolveError, DatabaseError)):
        return int(error.exit_code)
    for module, name, code in EXIT_CODES:
        kind = _loaded(module, name)
        if kind is not None and isinstance(error, kind):
            return code
    return None


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    database_error = _loaded("sqlalchemy.exc", "SQLAlchemyError")
    if database_error is not None and isinstance(error, database_error):
        text = f"database error: {' '.join(str(getattr(error, 'orig', None) or error).split())}"
    return text


class LazyCommand(click.Command):
    """What ``evolve --help`` lists for a command whose module has not been loaded."""

    def __init__(self, name: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)


def load_command(name: str) -> click.Command:
    """The real command behind a lazy name, built from its module's ``register``."""
    module, _ = LAZY_COMMANDS[name]
    holder = typer.Typer()
    importlib.import_module(module).register(holder)
    group = typer.main.get_group(holder)
    command = group.get_command(click.Context(group), name)
    assert command is not None, f"{module}.register adds no command named {name!r}"
    return command


class Commands(TyperGroup):
    """The one place errors become messages: one line on stderr and the code for its kind."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            code = exit_code_of(exc)
            if code is None:
                raise
            err.print(f"[red]error:[/red] {one_line(exc)}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(code) from None


class EvolveCommands(Commands):
    """The ``evolve`` command's group: its registered commands and, listed beside them, the lazy ones."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in LAZY_COMMANDS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = LazyCommand(cmd_name, LAZY_COMMANDS[cmd_name][1])
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, LazyCommand):
            command = self.commands[command.name] = load_command(command.name)
        return name, command, rest


app = typer.Typer(
    cls=EvolveCommands,
    help="LLM-driven evolutionary discovery of systems algorithms.\n\n"
    "Example: evolve run bin_packing --iterations 100",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = typer.Option(DEFAULT_URL, "--db", help="database URL (SQLite path or postgresql://...)")
RayOption = typer.Option(
    None, "--ray-address",
    help="join this Ray cluster (host:port or 'auto'); default: RAY_ADDRESS, else 'evolve cluster up''s, else a private one")
JsonOption = typer.Option(False, "--json", help="machine-readable output")
DbWaitOption = typer.Option(DEFAULT_WAIT_S, "--db-wait", min=0,
                            help="seconds to wait for a database that went away before the run stops (resumable)")

def fail(message: str) -> None:
    """Bad input found by the command itself (not raised by the work)."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
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
    program: Optional[str] = typer.Argument(
        None, help="in an OpenEvolve directory, the initial program (default: initial_program.py or the usual names)"
    ),
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
    db_wait: float = DbWaitOption,
    ray_address: Optional[str] = RayOption,
) -> None:
    """Start an evolution run.

    Precedence: defaults < problem.yaml's evolve: section < --config < flags.

    Example: evolve run bin_packing -n 200 --seed 1
    Example: evolve run bin_packing --model openai/gpt-4o-mini --budget 2
    Example: evolve run examples/cant_be_late initial_greedy.py
    """
    overrides = cli_overrides(
        iterations=iterations, max_in_flight=max_in_flight, seed=seed, max_wall_s=max_wall,
        budget_usd=budget, target_score=target, models=model, api_base=api_base,
    )
    from evolve.run_plan import plan_run

    plan = plan_run(problem, config, overrides, console, program)  # the seed begins scoring here
    from evolve.launch import RunRequest, start_run

    start_run(plan, RunRequest(db_url=db, ray_address=ray_address, name=name, db_wait_s=db_wait), console)


@app.command()
def resume(
    run_ref: str = typer.Argument(..., metavar="RUN", help="run id, name, or 'latest'"),
    iterations: Optional[int] = typer.Option(None, "--iterations", "-n", help="raise the run's candidate target"),
    force: bool = typer.Option(False, "--force", help="take over a run another live driver holds (it is asked to stop)"),
    db: str = DbOption,
    db_wait: float = DbWaitOption,
    ray_address: Optional[str] = RayOption,
) -> None:
    """Continue a stopped or killed run from the database, with nothing lost or repeated.

    A killed driver's run is taken over at once; one still running only with --force.

    Example: evolve resume latest
    """
    from evolve.launch import RunRequest, resume_run

    extra = {"iterations": iterations} if iterations is not None else {}
    resume_run(run_ref, extra, RunRequest(db_url=db, ray_address=ray_address, force=force, db_wait_s=db_wait), console)


@app.command("eval")
def eval_(
    problem: str = typer.Argument(..., help="a problem name or folder"),
    file: Path = typer.Argument(..., help="the program to score", exists=True, dir_okay=False),
    split: str = typer.Option("train", "--split", help="train, test, or another split the problem's README names"),
    program: Optional[str] = typer.Option(
        None, "--program", help="in an OpenEvolve directory, its initial program (default: initial_program.py or the usual names)"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Score one program with the problem's evaluator, in the same sandbox a run uses.

    Example: evolve eval bin_packing problems/bin_packing/baselines/first_fit.py --split test
    """
    from evolve.evaluators.pool import evaluate_file
    from evolve.evaluators.problem import load_problem
    from evolve.openevolve_import import DEFAULT_CACHE_DIR, resolve_problem_ref

    loaded = load_problem(resolve_problem_ref(problem, DEFAULT_CACHE_DIR, err, program))
    result = evaluate_file(loaded, file, split)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print_result(result)
    if not result.ok:
        raise typer.Exit(1)


def print_result(result: Any) -> None:
    from rich.table import Table

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
    from rich.table import Table

    from evolve.evaluators.problem import list_problems

    found = list_problems()
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
    from evolve.evaluators.problem import PROBLEMS_DIR
    from evolve.resources import BUNDLED_PROBLEMS, INSTALLED
    from evolve.scaffold import scaffold_problem

    # An installed package's problems/ is not the user's: theirs is the working directory's.
    home = Path("problems") if INSTALLED and PROBLEMS_DIR == BUNDLED_PROBLEMS else PROBLEMS_DIR
    root = scaffold_problem(name, directory or home)
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
    import asyncio

    from evolve.cluster import run_target
    from evolve.evaluators.pool import EvaluationPool
    from evolve.launch import open_stored_run, score_test_split

    stored = open_stored_run(db, run_ref)
    archive = stored.archive()

    async def go() -> None:
        slots = max(1, min(top + 1, stored.config.max_in_flight))
        pool = EvaluationPool(stored.problem, slots=slots, ray_address=run_target(ray_address).address)
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
    from evolve.database.memory import latest_memory
    from evolve.engine import candidate_seed, mutation_request
    from evolve.launch import open_stored_run
    from evolve.llm_mutator import LLMMutator
    from evolve.prompts import render_messages

    stored = open_stored_run(db, run_ref)
    config, archive = stored.config, stored.archive()
    try:
        sample = archive.sample_for(program_id)
        note = latest_memory(stored.db.engine, stored.run.id)
        seed = candidate_seed(config.seed, archive.counts()["total"])
        request = mutation_request(stored.problem, sample, seed, note.text if note is not None else None)
    finally:
        archive.close()
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
    """Commands that live beside the concept they serve (the lazy ones in LAZY_COMMANDS)."""
    from evolve.browse import register as register_browsing

    register_browsing(app)


_register_command_modules()


def main() -> None:
    try:
        app(prog_name="evolve")
    finally:
        # Everything is written and closed by now. The interpreter's last collections walk
        # every object litellm, Ray and pydantic made, over a second with litellm; frozen objects
        # are left to the operating system instead (docs/benchmarks.md, Start-up).
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
