"""Starting, resuming and finishing a run: everything around the engine's loop.

A new run arrives planned (``run_plan``: its problem, its configuration and the local slot
already scoring its seed); a resumed one is reopened from the database. This module adds
the database run, the evaluation pool and the mutator, runs the engine under the live
display, and scores the best programs on the held-out split at the end.
"""

from __future__ import annotations

import asyncio
import signal
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from evolve.cluster import run_target
from evolve.config import RunConfig
from evolve.database import DEFAULT_WAIT_S, ProgramDatabase, RunInfo
from evolve.database.archive import RunArchive
from evolve.database.call_journal import CallJournal
from evolve.database.errors import DatabaseError, DatabaseUnavailable
from evolve.database.lease import Lease, acquire
from evolve.database.queries import program_detail, top_programs
from evolve.display import LiveDisplay, format_score
from evolve.engine import Engine, Evaluator, Outcome
from evolve.evaluators.local_slot import LocalSlot
from evolve.evaluators.pool import LocalFirstPool
from evolve.evaluators.problem import Problem, load_problem
from evolve.leftovers import clear_ray_leftovers, private_ray_folder
from evolve.load_failure import explain
from evolve.mutation import Mutator
from evolve.offline import OfflineMutator
from evolve.run_plan import RunPlan, problem_reference, with_problem_threshold

OFFLINE_NOTICE = (
    "No model configured: using the offline mutator, a syntax-tree baseline (constants, operators, "
    "recombination), not an LLM. Configure a model with --model or llm.models in --config."
)


@dataclass
class RunRequest:
    """What the user asked for on the command line."""

    db_url: str
    ray_address: str | None = None
    name: str | None = None
    force: bool = False  # take over a run another live driver holds
    db_wait_s: float = DEFAULT_WAIT_S  # how long writes wait for a database that went away


def make_mutator(config: RunConfig, journal: CallJournal | None = None) -> Mutator:
    if not config.llm.models:
        return OfflineMutator()
    from evolve.llm_client import require_keys
    from evolve.llm_mutator import LLMMutator

    require_keys(config.llm)
    return LLMMutator(config.llm, rng_seed=config.seed, journal=journal)


class RunSession:
    """One process's work on one run: a fresh start or a resume."""

    def __init__(self, db: ProgramDatabase, run: RunInfo, problem: Problem, config: RunConfig, console: Console,
                 local: LocalSlot | None = None):
        """``local``: a slot already started for this run (a fresh run's seed begun on it)."""
        self.db, self.run, self.problem, self.config, self.console = db, run, problem, config, console
        self.local = local
        self.mutator: Mutator = OfflineMutator()

    def execute(self, ray_address: str | None, force: bool = False) -> Outcome:
        """Hold the run's lease for the whole session, so no second driver works on it."""
        try:
            lease = acquire(self.db.engine, self.run, force, on_wait=lambda holder: self.console.print(
                f"asked {holder.describe(time.time())} to stop; waiting for its candidates in flight", highlight=False))
            try:
                if lease.taken_from is not None:
                    clear_ray_leftovers(lease.taken_from, self.console)
                return self._execute_held(lease, ray_address)
            finally:
                lease.release()
        finally:
            if self.local is not None:  # the pool stopped it, unless the run ended before the pool
                self.local.close()

    def _execute_held(self, lease: Lease, ray_address: str | None) -> Outcome:
        if not self.config.llm.models:
            self.console.print(OFFLINE_NOTICE, style="yellow", highlight=False)
        self.console.print(
            f"run {self.run.name} (id {self.run.id}) on {self.problem.name}: "
            f"{self.config.iterations} candidates, {self.config.max_in_flight} in flight, database {self.db.display_url}",
            highlight=False,
        )
        archive = self.db.archive(self.run.id, self.config.archive, self.config.seed)
        journal = CallJournal(self.db.engine, self.run.id, self.config.budget_usd, self.db.outage)
        if journal.lost:
            self.console.print(f"{journal.lost} model call(s) were in flight when the last driver stopped: "
                               "recorded as lost, at their maximum cost", highlight=False)
        self.db.set_run_status(self.run.id, "running")
        try:
            outcome = asyncio.run(self._execute(archive, journal, lease, ray_address))
        except DatabaseUnavailable as exc:
            with suppress(DatabaseError):  # the database may be back by now
                self.db.set_run_status(self.run.id, "interrupted")
            raise DatabaseUnavailable(f"{exc}: evolve resume {self.run.name}") from None
        except BaseException:
            self.db.set_run_status(self.run.id, "failed")
            raise
        finally:
            archive.close()
        self.db.set_run_status(self.run.id, "stopped" if outcome.stop_reason == "interrupted" else "finished")
        self._summarise(outcome)
        return outcome

    async def _execute(self, archive: RunArchive, journal: CallJournal, lease: Lease, ray_address: str | None) -> Outcome:
        slots = self.config.evaluation.slots or self.config.max_in_flight
        # Importing litellm and starting Ray each take seconds; the first mostly computes,
        # the second mostly waits on the processes it starts, so they overlap well.
        building = asyncio.create_task(asyncio.to_thread(make_mutator, self.config, journal))
        await asyncio.sleep(0)
        target = run_target(ray_address)
        self.console.print(target.description, highlight=False)
        folder = None
        if target.address is None:  # noted before Ray starts, so a kill at any moment leaves nothing unnamed
            folder = private_ray_folder()
            lease.note_ray_session(folder)
        try:
            pool = LocalFirstPool(with_problem_threshold(self.problem, self.config), slots=slots,
                                  ray_address=target.address, temp_dir=folder, local=self.local)
        except BaseException as exc:
            await asyncio.gather(building, return_exceptions=True)
            raise self._explained(exc) from None
        if archive.seed_program() is None:
            pool.begin(self.problem.seed_code, "train")  # the engine's first evaluation, started before the mutator is built
        try:
            self.mutator = await building
            bandit = self.db.load_bandit_state(self.run.id)
            if bandit:
                self.mutator.load_state(bandit)
            with LiveDisplay(self.console, f"evolve: {self.run.name}") as display:
                engine = Engine(
                    problem=self.problem, config=self.config, archive=archive, mutator=self.mutator,
                    pool=pool, on_progress=self._progress_sink(display), journal=journal,
                )
                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGINT, self._interrupt, engine)
                lease.watch(lambda reason: loop.call_soon_threadsafe(self._told_to_stop, engine, reason))
                try:
                    outcome = await self._run_engine(engine, pool, lease)
                finally:
                    loop.remove_signal_handler(signal.SIGINT)
            if self.config.evaluation.test_top_k and "test" in self.problem.splits:
                await score_test_split(self.db, archive, pool, self.config.evaluation.test_top_k, self.console)
            return outcome
        finally:
            pool.close()

    def _explained(self, exc: BaseException) -> BaseException:
        p = self.problem
        return explain(p.root, p.evaluator_path, p.program_path, str(exc)) or exc

    async def _run_engine(self, engine: Engine, pool: LocalFirstPool, lease: Lease) -> Outcome:
        """The engine starts on the local sandbox while the Ray pool starts; a Ray pool that
        cannot start stops the run with its reason, as if it had failed before the run."""
        running = asyncio.create_task(engine.run())
        starting = asyncio.create_task(pool.started())
        try:
            await asyncio.wait({running, starting}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                failure = starting.exception()
                if failure is not None:
                    engine.request_stop()
                    engine.request_stop()  # the second request cancels what is in flight
                    await asyncio.sleep(0)
                    pool.abandon(failure)  # the seed, if it still waits
                    await asyncio.gather(running, return_exceptions=True)
                    raise self._explained(failure) from None
                self._pool_ready(pool)
            try:
                outcome = await running
            except Exception as exc:
                if exc is pool.start_error():
                    raise self._explained(exc) from None
                raise
            if not starting.done():
                self.console.print(f"all {pool.local_evaluations} evaluation(s) done in a local sandbox; "
                                   "the Ray pool was still starting", highlight=False)
                # However fast the work was, a Ray pool that cannot start (more slots than the
                # cluster has CPUs for, say) ends the run with its reason, as it would a moment later.
                failure = (await asyncio.gather(starting, return_exceptions=True))[0]
                if isinstance(failure, BaseException):
                    raise self._explained(failure) from None
            return outcome
        finally:
            starting.cancel()

    def _pool_ready(self, pool: LocalFirstPool) -> None:
        self.console.print(f"evaluation pool ready after {pool.ready_after_s or 0.0:.1f} s ({len(pool.nodes())} slots on Ray); "
                           f"{pool.local_evaluations} evaluation(s) done meanwhile in a local sandbox", highlight=False)

    def _progress_sink(self, display: LiveDisplay) -> Any:
        def sink(progress: Any) -> None:
            display.update(progress)
            state = self.mutator.state()
            if state is not None:
                self.db.store_bandit_state(self.run.id, state)

        return sink

    def _interrupt(self, engine: Engine) -> None:
        if engine.request_stop():
            self.console.print("stopping: finishing the candidates in flight (Ctrl-C again cancels them)")

    def _told_to_stop(self, engine: Engine, reason: str) -> None:
        if engine.request_stop():
            self.console.print(f"stopping: {reason}; finishing the candidates in flight", highlight=False)

    def _summarise(self, outcome: Outcome) -> None:
        seed, best = outcome.seed_program, outcome.best
        progress = outcome.progress
        self.console.print(f"stopped: {outcome.stop_reason}; {progress.done} candidates, {progress.failed} failed")
        if seed is not None and best is not None:
            self.console.print(
                f"best score {format_score(best.score)} (program {best.id}) vs seed {format_score(seed.score)}",
                highlight=False,
            )
        best_file = f"best{self.problem.program_path.suffix}"
        self.console.print(f"browse it: evolve show {self.run.name}   evolve best {self.run.name} -o {best_file}")


async def score_test_split(db: ProgramDatabase, archive: RunArchive, pool: Evaluator, k: int, console: Console) -> None:
    """Score the seed and the top ``k`` programs on the held-out split, so over-fitting shows;
    a run passes its own pool, so the scoring starts no second one."""
    seed = archive.seed_program()
    chosen = [row["id"] for row in top_programs(db, archive.run.id, limit=k)]
    if seed is not None and seed.id not in chosen:
        chosen.append(seed.id)
    details = {pid: program_detail(db, pid) for pid in chosen}
    pending = [pid for pid in chosen if details[pid]["test_score"] is None]
    if not pending:
        return
    console.print(f"scoring {len(pending)} programs on the held-out test split")
    results = await asyncio.gather(*(pool.evaluate(details[pid]["code"], "test") for pid in pending))
    for pid, result in zip(pending, results):
        metrics = dict(result.metrics, status=result.status)
        archive.set_test_metrics(pid, result.score if result.ok else None, metrics)
        console.print(f"  program {pid}: test score {format_score(result.score)} ({result.status})", highlight=False)


def start_run(plan: RunPlan, request: RunRequest, console: Console) -> Outcome:
    """A new run of ``plan``, whose seed may already be scoring on its local slot."""
    try:
        db = ProgramDatabase(request.db_url, wait_s=request.db_wait_s)
        run = db.create_run(request.name, problem_reference(plan.problem), plan.config.model_dump(mode="json"),
                            plan.config.seed)
    except BaseException:
        plan.close()
        raise
    return RunSession(db, run, plan.problem, plan.config, console, plan.local).execute(request.ray_address)


@dataclass
class StoredRun:
    """A run reopened from the database with the configuration and problem it began with."""

    db: ProgramDatabase
    run: RunInfo
    config: RunConfig
    problem: Problem

    def archive(self) -> RunArchive:
        return self.db.archive(self.run.id, self.config.archive, self.config.seed)


def open_stored_run(db_url: str, run_ref: str, extra: dict[str, Any] | None = None,
                    wait_s: float = DEFAULT_WAIT_S) -> StoredRun:
    """``extra`` overrides stored settings (for example a higher candidate target). A
    database that is not there is an error here, never a new empty one."""
    db = ProgramDatabase(db_url, create=False, wait_s=wait_s)
    run = db.open_run(run_ref)
    config = RunConfig.model_validate({**run.config, **(extra or {})})
    return StoredRun(db, run, config, load_problem(run.problem))


def resume_run(run_ref: str, extra: dict[str, Any], request: RunRequest, console: Console) -> Outcome:
    stored = open_stored_run(request.db_url, run_ref, extra, request.db_wait_s)
    run = stored.run
    console.print(f"resuming run {run.name} (id {run.id}), status was {run.status}", highlight=False)
    return RunSession(stored.db, run, stored.problem, stored.config, console).execute(request.ray_address, request.force)
