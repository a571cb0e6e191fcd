"""The evolution loop: a steady state of K candidates in flight, no generation barrier.

Each candidate is one coroutine: sample a parent, ask the mutator, skip duplicates,
evaluate on Ray, record. The archive is touched only from the driver's event loop, so
no locks are needed; the database write happens before a candidate counts as done.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from evolve.config import RunConfig
from evolve.database.call_journal import BudgetExhausted, CallJournal
from evolve.database.errors import DatabaseUnavailable
from evolve.database.features import BUILTIN_FEATURES
from evolve.database.records import ERROR_CHARS, NewProgram, ProgramView, Sample
from evolve.edit_repairs import REPAIRS_ARTIFACT
from evolve.errors import InputError
from evolve.evaluators.result import EvaluationResult
from evolve.mutation import CHANGES_ARTIFACT, MutationRequest, Mutator, Proposal
from evolve.novelty import build_filter
from evolve.run_memory import build_memory
from evolve.statuses import Origin, Status

log = logging.getLogger(__name__)


class SeedFailed(InputError, RuntimeError):
    """The problem's own seed program does not evaluate: nothing can evolve from it."""


class MutatorContractError(InputError):
    """The mutator lacks what the run needs of it (a stated maximum call cost under a budget)."""


class Evaluator(Protocol):
    async def evaluate(self, code: str, split: str = "train") -> EvaluationResult: ...


@dataclass
class Progress:
    """What the live display shows; updated by the engine after every event."""

    target: int
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    started_at: float = field(default_factory=time.monotonic)
    done_this_session: int = 0
    seed_score: float | None = None
    best_score: float | None = None
    spent_usd: float = 0.0
    stop_reason: str | None = None

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started_at
        return self.done_this_session / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate
        return (self.target - self.done) / rate if rate > 0 and self.done < self.target else None


@dataclass
class Outcome:
    stop_reason: str
    progress: Progress
    seed_program: ProgramView | None
    best: ProgramView | None


def candidate_seed(run_seed: int, index: int) -> int:
    """A per-candidate random seed that depends only on the run's random seed and the
    candidate's index. (Here ``seed`` is always a random seed; the problem's initial
    program is the ``seed_program``.)"""
    digest = hashlib.sha256(f"{run_seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def mutation_request(problem: Any, sample: Sample, random_seed: int, memory: str | None = None) -> MutationRequest:
    """What a mutator is given for one candidate; `evolve prompt` builds the same."""
    return MutationRequest(
        problem_name=problem.name,
        description=problem.description,
        parent=sample.parent,
        inspirations=sample.inspirations,
        failures=sample.failures,
        island=sample.island,
        generation=sample.generation,
        seed=random_seed,
        templates_dir=str(problem.root),
        packages=list(problem.candidate.packages),
        language=problem.candidate.language,
        memory=memory,
    )


def _failure_status(proposal: Proposal) -> Status:
    if proposal.llm_calls and all(call.error for call in proposal.llm_calls):
        return Status.LLM_ERROR
    return Status.EDIT_FAILED


def _summary(text: str | None) -> str | None:
    """The last non-empty line of an error text: for a traceback, the exception itself."""
    if not text:
        return None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:ERROR_CHARS] if lines else None


def kept_if_culled(result: EvaluationResult, feature_names: list[str]) -> tuple[EvaluationResult, dict[str, float]]:
    """A seed the cascade culled stays, scored by its quick stage, as OpenEvolve keeps it:
    the run must start from somewhere, and its children are measured by the full stage.
    Feature dimensions that only the full stage measures place it at 0 (and say so)."""
    quick = result.metrics.get("quick_score")
    if result.status != Status.CULLED or not isinstance(quick, (int, float)):
        return result, {}
    stage1 = {key.removeprefix("quick_"): value for key, value in result.metrics.items()
              if key.startswith("quick_") and key != "quick_score"}
    metrics = {**stage1, **result.metrics}
    unmeasured = {name: 0.0 for name in feature_names if name not in BUILTIN_FEATURES and name not in metrics}
    note = f"{result.artifacts.get('cascade', 'culled by the cascade')}: the seed is kept with its quick-stage score"
    if unmeasured:
        note += f"; placed at 0 on {', '.join(unmeasured)}, which the quick stage does not measure"
    kept = EvaluationResult(status=Status.OK, score=float(quick), metrics=metrics,
                            artifacts={**result.artifacts, "cascade": note}, stages=result.stages, node=result.node)
    return kept, unmeasured


class Engine:
    def __init__(
        self,
        *,
        problem: Any,
        config: RunConfig,
        archive: Any,
        mutator: Mutator,
        pool: Evaluator,
        on_progress: Any = None,
        journal: CallJournal | None = None,
    ) -> None:
        self.problem = problem
        self.config = config
        self.archive = archive
        self.mutator = mutator
        self.pool = pool
        self.journal = journal or CallJournal(archive.engine, archive.run.id, config.budget_usd, archive.outage)
        self._check_states_cost(mutator, config)
        self.on_progress = on_progress or (lambda progress: None)
        self.progress = Progress(target=config.iterations)
        self._stop_requested = 0
        self._budget_refused: str | None = None
        self._in_flight_codes: set[str] = set()
        self._llm_slots = asyncio.Semaphore(config.llm.max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._crash: BaseException | None = None
        self.novelty = build_filter(config, self.journal)
        self.memory = build_memory(config, self.journal, problem, lambda: self.progress.best_score)

    @staticmethod
    def _check_states_cost(mutator: Mutator, config: RunConfig) -> None:
        if config.budget_usd is not None and mutator.max_call_cost_usd() is None:
            raise MutatorContractError(
                f"the {mutator.name} mutator states no max_call_cost_usd, so budget_usd cannot be enforced; "
                "drop the budget or give the mutator that method"
            )

    def request_stop(self) -> bool:
        """First call: finish what is in flight and stop. Second call: cancel it too.
        Returns whether this was the first request."""
        self._stop_requested += 1
        if self._stop_requested >= 2:
            for task in self._tasks:
                task.cancel()
        return self._stop_requested == 1

    async def run(self) -> Outcome:
        seed_program = await self._ensure_seed_program()
        if self.novelty is not None:
            self.novelty.admit(seed_program)
        counts = self.archive.counts()
        self.progress.done = counts.get("total", 0)
        self.progress.failed = counts.get("total", 0) - counts.get(Status.OK, 0)
        self.progress.seed_score = seed_program.score
        self.progress.spent_usd = self.journal.spent_usd
        self._refresh_best()
        deadline = time.monotonic() + self.config.max_wall_s if self.config.max_wall_s else math.inf
        next_index = self.progress.done
        reason: str | None = None
        while True:
            reason = self._stop_reason(deadline, launched=next_index)
            if reason is not None:
                break
            while len(self._tasks) < self.config.max_in_flight and next_index < self.config.iterations:
                if self._stop_reason(deadline, launched=next_index) is not None:
                    break
                self._launch(next_index)
                next_index += 1
            if not self._tasks:
                continue
            await asyncio.wait(self._tasks, timeout=self._wait_timeout(deadline), return_when=asyncio.FIRST_COMPLETED)
        self.progress.stop_reason = reason
        self.on_progress(self.progress)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self.on_progress(self.progress)  # the last candidates have left the in-flight count
        return Outcome(reason, self.progress, self.archive.seed_program(), self.archive.best())

    def _wait_timeout(self, deadline: float) -> float | None:
        return None if deadline == math.inf else max(0.0, deadline - time.monotonic()) + 0.01

    def _stop_reason(self, deadline: float, launched: int) -> str | None:
        if self._crash is not None:
            raise self._crash
        if self._stop_requested:
            return "interrupted"
        if self.progress.done >= self.config.iterations or (launched >= self.config.iterations and not self._tasks):
            return "iterations"
        if time.monotonic() >= deadline:
            return "wall_time"
        target = self.config.target_score
        if target is not None and self.progress.best_score is not None and self.progress.best_score >= target:
            return "target_score"
        if self.config.budget_usd is not None and (self._budget_refused or self._next_call_would_exceed_budget()):
            return "budget"
        return None

    def _next_call_would_exceed_budget(self) -> bool:
        # repair turns are part of one call's worst case
        pending = (self.mutator.max_call_cost_usd() or 0.0) * (len(self._tasks) + 1)
        return self.journal.spent_usd + pending > (self.config.budget_usd or 0.0)

    def _launch(self, index: int) -> None:
        task = asyncio.create_task(self._candidate(index), name=f"candidate-{index}")
        self._tasks.add(task)
        self.progress.in_flight = len(self._tasks)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.progress.in_flight = len(self._tasks)
        if not task.cancelled() and task.exception() is not None and self._crash is None:
            self._crash = task.exception()

    async def _ensure_seed_program(self) -> ProgramView:
        existing = self.archive.seed_program()
        if existing is not None:
            return existing
        names = [dimension.name for dimension in self.config.archive.features]
        result, features = kept_if_culled(await self.pool.evaluate(self.problem.seed_code, "train"), names)
        if not result.ok:
            cause = _summary(result.artifacts.get("error")) or _summary(next(iter(result.artifacts.values()), None))
            raise SeedFailed(
                f"the seed program of '{self.problem.name}' did not evaluate: {result.status}"
                f"{f' ({cause})' if cause else ''}; see the whole output with: "
                f"evolve eval {self.problem.root} {self.problem.program_path}"
            )
        return self.archive.record(
            NewProgram(
                parent_id=None,
                island=0,
                generation=0,
                code=self.problem.seed_code,
                origin=Origin.SEED,
                status=result.status,
                score=result.score,
                metrics=result.metrics,
                artifacts=result.artifacts,
                stages=result.stages,
                features=features,
            )
        )

    async def _candidate(self, index: int) -> None:
        t0 = time.perf_counter()
        sample = self.archive.sample()
        memory = self.memory.text if self.memory is not None else None
        request = mutation_request(self.problem, sample, candidate_seed(self.config.seed, index), memory)
        record = NewProgram(
            parent_id=sample.parent.id, island=sample.island, generation=sample.generation,
            code="", origin=self.mutator.default_origin, status=Status.CANCELLED,
        )
        timings: dict[str, float] = {"select_s": time.perf_counter() - t0}
        proposal: Proposal | None = None
        try:
            t1 = time.perf_counter()
            async with self._llm_slots:
                proposal = await self.mutator.propose(request)
            timings["mutate_s"] = time.perf_counter() - t1
            self._fill_from_proposal(record, proposal)
            await self._screen(record, proposal)
            if proposal.code is not None and record.status not in (Status.DUPLICATE, Status.TOO_SIMILAR):
                self._in_flight_codes.add(proposal.code)
                features = asyncio.create_task(asyncio.to_thread(self.archive.code_features, proposal.code))
                t2 = time.perf_counter()
                result = await self.pool.evaluate(proposal.code, "train")
                timings["evaluate_s"] = time.perf_counter() - t2
                self._fill_from_result(record, result)
                record.features = await features
        except asyncio.CancelledError:
            record.status, record.error = Status.CANCELLED, "stopped by the user before it finished"
        except BudgetExhausted as exc:
            self._budget_refused = str(exc)
            record.status, record.error = Status.CANCELLED, f"not started: {exc}"
        except Exception as exc:  # the framework's own fault with this one candidate: its row says so, the run goes on
            log.exception("handling candidate %d failed", index)
            record.status = Status.ERROR
            record.error = f"the framework failed while handling this candidate: {type(exc).__name__}: {exc}"
        finally:
            if proposal is not None and proposal.code is not None:
                self._in_flight_codes.discard(proposal.code)
            record.timings = timings
            if not isinstance(self._crash, DatabaseUnavailable):  # no row can be written; the run is stopping
                self._record(record, proposal, sample.parent.score)
        if self.memory is not None and not self._stop_requested and self.memory.due(self.progress.done):
            async with self._llm_slots:
                await self.memory.write(self.progress.done)
            self.progress.spent_usd = self.journal.spent_usd

    async def _screen(self, record: NewProgram, proposal: Proposal) -> None:
        """The novelty filter: a near-copy of a program on its island is recorded, not
        evaluated; the filter's own calls travel with the proposal's."""
        if self.novelty is None or proposal.code is None or record.status == Status.DUPLICATE:
            return
        verdict = await self.novelty.check(record.island, proposal.code, proposal.llm_calls)
        if verdict is not None:
            record.status, record.error, record.artifacts = Status.TOO_SIMILAR, verdict.error, verdict.artifacts()

    def _fill_from_proposal(self, record: NewProgram, proposal: Proposal) -> None:
        record.origin, record.diff, record.model = proposal.origin, proposal.diff, proposal.model
        if proposal.code is None:
            record.status, record.error = _failure_status(proposal), proposal.error
            return
        record.code = proposal.code
        if proposal.code in self._in_flight_codes or self.archive.is_duplicate(proposal.code):
            record.status, record.error = Status.DUPLICATE, "same code as an existing program; not evaluated again"

    @staticmethod
    def _fill_from_result(record: NewProgram, result: EvaluationResult) -> None:
        record.status, record.score = result.status, result.score
        record.metrics, record.artifacts = result.metrics, result.artifacts
        record.stages = result.stages
        if not result.ok:
            record.error = _summary(result.artifacts.get("error")) or result.status

    def _record(self, record: NewProgram, proposal: Proposal | None, parent_score: float | None) -> None:
        calls = proposal.llm_calls if proposal else []
        if proposal is not None and proposal.repairs:
            record.artifacts = {**record.artifacts, REPAIRS_ARTIFACT: ", ".join(proposal.repairs)}
        if proposal is not None and proposal.changes:
            record.artifacts = {**record.artifacts, CHANGES_ARTIFACT: "; ".join(proposal.changes)}
        record.llm_call_ids = [call.call_id for call in calls if call.call_id is not None]
        view = self.archive.record(record)
        if self.novelty is not None:
            self.novelty.admit(view)
        for call in calls:
            if call.call_id is None:
                self.journal.record(call, view.id)
            else:
                self.journal.note_edit(call.call_id, call.parsed_edit)
        cost = sum(call.cost_usd for call in calls)
        self.progress.done += 1
        self.progress.done_this_session += 1
        if view.status != Status.OK:
            self.progress.failed += 1
        self.progress.spent_usd = self.journal.spent_usd
        if view.model:
            improvement = 0.0
            if view.score is not None and parent_score is not None:
                improvement = max(0.0, view.score - parent_score)
            self.mutator.observe(view.model, improvement, cost)
        self._refresh_best()
        self.on_progress(self.progress)

    def _refresh_best(self) -> None:
        best = self.archive.best()
        self.progress.best_score = best.score if best is not None else None
