"""One run's archive: islands of MAP-Elites grids over every program of the run.

The database rows are the truth; the in-memory index (ids, scores, features, hashes,
never code) is rebuilt from them on resume by replaying the rows in id order through
the same placement code the live archive uses, so a resumed run holds exactly the grids
it had. Migrants are rows too (written in the transaction of the candidate whose
arrival triggered the migration), so replay never has to decide a migration again. What
rows alone cannot tell, how many samples were drawn, each row carries as it is written.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from evolve.database import DEFAULT_WAIT_S
from evolve.database.errors import ArchiveError, NoParentAvailable, ProgramNotFound
from evolve.database.features import BUILTIN_FEATURES, code_hash, feature_values
from evolve.database.grid import Binner, Elite, Island
from evolve.database.models import EvaluationStage, LLMCall, Program
from evolve.database.outage import Outage
from evolve.database.pareto import IslandFronts, instance_scores, without_instances
from evolve.database.record_statement import record_program
from evolve.database.records import FAILURE_CHARS, NewProgram, ProgramView, RunInfo, Sample
from evolve.database.selection import choose_inspirations, choose_parent
from evolve.database.settings import ArchiveSettings
from evolve.database.storable import storable, storable_record
from evolve.database.views import ViewCache
from evolve.database.writer_connections import WriterConnections
from evolve.statuses import Origin, Status, is_candidate

PROGRAMS = Program.__table__
STAGES = EvaluationStage.__table__
CALLS = LLMCall.__table__
# Built once: statements with bound parameters skip SQLAlchemy's per-call compilation.
INSERT_PROGRAM = insert(PROGRAMS)
INSERT_STAGES = insert(STAGES)
LINK_CALLS = update(CALLS).where(CALLS.c.id.in_(bindparam("call_ids", expanding=True))).values(
    program_id=bindparam("linked_program")
)


def _placeable(status: str, score: float | None) -> bool:
    return status == Status.OK and score is not None and math.isfinite(score)


def _with_known_labels(program: NewProgram) -> NewProgram:
    """The record with its status and origin as members of their enumerations; a value
    outside them would be a row no browser knows how to count."""
    try:
        status = Status(program.status)
    except ValueError:
        raise ArchiveError(f"unknown status {program.status!r}; use one of {', '.join(Status)}") from None
    try:
        origin = Origin(program.origin)
    except ValueError:
        raise ArchiveError(f"unknown origin {program.origin!r}; use one of {', '.join(Origin)}") from None
    return replace(program, status=status, origin=origin)


def stage_rows(program: NewProgram) -> list[dict[str, Any]]:
    """The evaluation stages of an attempt as rows (without their program's id)."""
    return storable([
        {"position": position, "stage": stage.name, "status": stage.status, "wall_s": float(stage.wall_s),
         "cpu_s": float(stage.cpu_s), "error": stage.error}
        for position, stage in enumerate(program.stages)
    ])


def failure_reason(status: str, error: str | None, artifacts: dict[str, Any] | None) -> str:
    """One line of feedback about a failed attempt: its error, else its first artifact."""
    detail = error or next((str(v) for v in (artifacts or {}).values() if v), "")
    return " ".join(f"{status}: {detail}".split())[:FAILURE_CHARS] if detail else status


class RunArchive:
    """The driver's view of one run. Single writer: one process, one thread, calls it."""

    def __init__(self, engine: Engine, run: RunInfo, settings: ArchiveSettings, seed: int,
                 outage: Outage | None = None) -> None:
        """``outage`` says how long a write waits for a database that went away; by default
        as long as ``database.outage`` says."""
        self.engine = engine
        self.outage = outage or Outage(DEFAULT_WAIT_S, engine.url.render_as_string(hide_password=True))
        self.run = run
        self.settings = settings
        self.seed = seed
        self._db = WriterConnections(engine)
        self._names = [d.name for d in settings.features]
        self._broken: str | None = None
        self._reset_index()
        self._replay()

    def _reset_index(self) -> None:
        self._binner = Binner(list(self.settings.features))
        self._islands = [Island(i) for i in range(self.settings.num_islands)]
        self._fronts = IslandFronts(self.settings.num_islands)  # kept only with a pareto_share
        self._hashes: set[bytes] = set()
        self._statuses: Counter[str] = Counter()
        self._candidates = 0
        self._migrations = 0
        self._sample_count = 0
        self._best: Elite | None = None
        self._seed_id: int | None = None
        self._seed_code: str | None = None
        self._views = ViewCache()

    # ---- rebuilding -------------------------------------------------------------
    def _replay(self) -> None:
        # Feature values come out of the JSON column in SQL: decoding 10^5 JSON documents
        # in Python would be most of the resume time.
        extracted = [PROGRAMS.c.features[name].as_float() for name in self._names]
        columns = [PROGRAMS.c[n] for n in ("id", "origin", "status", "island", "score", "code_hash")]
        query = (
            select(*columns, *extracted)
            .where(PROGRAMS.c.run_id == self.run.id)
            .order_by(PROGRAMS.c.id)
        )
        with self.engine.connect() as conn:
            self._sample_count = conn.execute(
                select(PROGRAMS.c.sample_count)
                .where(PROGRAMS.c.run_id == self.run.id)
                .order_by(PROGRAMS.c.id.desc())
                .limit(1)
            ).scalar() or 0
            place = self._place
            for program_id, origin, status, island, score, hash_hex, *values in conn.execute(query):
                if origin == Origin.SEED and self._seed_id is None:
                    self._seed_id = program_id
                placeable = _placeable(status, score)
                if placeable and None in values:
                    self._features_mismatch(conn, program_id)
                place(program_id, origin, status, island, score, tuple(values) if placeable else None, hash_hex)
            if self.settings.pareto_share > 0:
                self._fronts.load(conn, self.run.id)
            if self._seed_id is not None:
                self._seed_code = conn.execute(select(PROGRAMS.c.code).where(PROGRAMS.c.id == self._seed_id)).scalar()
            # The elites are what sampling will ask for first: read them (best first, as many
            # as the cache holds) in one query now rather than one round trip each later.
            elites = sorted({e.id: e for island in self._islands for e in island.cells.values()}.values(),
                            key=lambda e: (-e.score, -e.id))[: self._views.capacity]
            self._views.fetch(lambda: nullcontext(conn), [e.id for e in reversed(elites)])
            failed = [i for island in self._islands for i in island.failures]
            self._failure_text = {
                row.id: failure_reason(row.status, row.error, row.artifacts)
                for row in conn.execute(
                    select(PROGRAMS.c.id, PROGRAMS.c.status, PROGRAMS.c.error, PROGRAMS.c.artifacts).where(
                        PROGRAMS.c.id.in_(failed)
                    )
                )
            } if failed else {}

    def _features_mismatch(self, conn: Connection, program_id: int) -> None:
        stored = conn.execute(select(PROGRAMS.c.features).where(PROGRAMS.c.id == program_id)).scalar() or {}
        raise ArchiveError(
            f"program {program_id} of run {self.run.name!r} was recorded with features {sorted(stored)}, "
            f"but the archive settings ask for {self._names}; "
            "resume the run with the feature dimensions it was started with"
        )

    def _place(
        self,
        program_id: int,
        origin: str,
        status: str,
        island: int,
        score: float | None,
        values: tuple[float, ...] | None,
        hash_hex: str,
    ) -> tuple[int, ...] | None:
        """Add one row to the index; the single code path of live recording and replay."""
        digest = bytes.fromhex(hash_hex)
        self._hashes.add(digest)
        home = self._islands[island % len(self._islands)]
        candidate = is_candidate(origin)
        if candidate:
            self._candidates += 1
            self._statuses[status] += 1
            if self._migrates_at(self._candidates):
                self._migrations += 1
        if values is None or not _placeable(status, score):
            if candidate:
                home.failures.append(program_id)
            return None
        assert score is not None
        elite = Elite(program_id, score, values, digest)
        if self._binner.observe(values):
            for each in self._islands:
                each.rebin(self._binner)
        cell = self._binner.cell(values)
        targets = self._islands if origin == Origin.SEED else [home]
        for target in targets:
            target.ok_ids.append(program_id)
            target.place(elite, cell)
        if origin != Origin.MIGRANT and (self._best is None or elite.beats(self._best)):
            self._best = elite
        return cell

    # ---- recording --------------------------------------------------------------
    def record(self, program: NewProgram) -> ProgramView:
        """Write the attempt durably, then index it (and migrate when due). A write that
        meets the database away is tried again until it is back (``database.outage``); the
        attempt's write key makes it land once, however often it is tried."""
        self._check_usable()
        program = storable_record(program)
        program = _with_known_labels(program)
        if program.island < 0 or program.island >= len(self._islands):
            raise ArchiveError(f"island {program.island} does not exist (the run has {len(self._islands)})")
        program = self._unmeasurable(program)
        values = self._feature_values(program)
        hash_hex = code_hash(program.code)
        now = time.time()
        key = program.write_key or uuid.uuid4().hex
        metrics = without_instances(program.metrics)  # the per-instance scores have their own column
        row = {
            "run_id": self.run.id, "parent_id": program.parent_id, "island": program.island,
            "generation": program.generation, "code": program.code, "code_hash": hash_hex,
            "diff": program.diff, "origin": program.origin, "model": program.model,
            "status": program.status, "error": program.error, "score": program.score,
            "metrics": metrics, "instances": instance_scores(program.metrics), "artifacts": program.artifacts,
            "features": dict(zip(self._names, values)) if values is not None else None,
            "timings": program.timings, "created_at": now, "sample_count": self._sample_count,
            "write_key": key,
        }
        try:  # a key from the caller may be in the table already
            program_id, cell = self._write_once(program, row, values, hash_hex, look_first=bool(program.write_key))
        except Exception as exc:
            self._broken = f"{type(exc).__name__}: {exc}"
            raise
        if is_candidate(program.origin) and not _placeable(program.status, program.score):
            self._failure_text[program_id] = failure_reason(program.status, program.error, program.artifacts)
            kept = {i for island in self._islands for i in island.failures}
            self._failure_text = {i: text for i, text in self._failure_text.items() if i in kept}
        view = ProgramView(
            id=program_id, run_id=self.run.id, parent_id=program.parent_id, island=program.island,
            generation=program.generation, code=program.code, code_hash=hash_hex, origin=program.origin,
            status=program.status, score=program.score, metrics=metrics,
            artifacts=program.artifacts, model=program.model, feature_cell=cell,
            created_at=now, diff=program.diff, error=program.error,
        )
        # A new program enters the cache only as an elite: elites are what sampling offers
        # again and again, and the stream of other children would push them out.
        elite = self._islands[program.island].cells.get(cell) if cell is not None else None
        if elite is not None and elite.id == program_id:
            self._views.put(view)
        return view

    def code_features(self, code: str) -> dict[str, float]:
        """The configured built-in features of ``code``, those its text alone gives. Safe to
        call from another thread: the engine computes them while the candidate is evaluated
        elsewhere, so recording it does not parse the program on the driver's critical path."""
        names = [name for name in self._names if name in BUILTIN_FEATURES]
        return feature_values(names, code, {}, self._seed_code) if names else {}

    def _unmeasurable(self, program: NewProgram) -> NewProgram:
        """A program whose feature metric is not a finite number has no cell in the grid: its
        row is made invalid, saying which feature, and the run goes on."""
        if not _placeable(program.status, program.score):
            return program
        for name in self._names:
            if name in program.features:
                value = program.features[name]
            elif name not in BUILTIN_FEATURES and name in program.metrics:
                value = program.metrics[name]
            else:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                error = f"feature {name!r} must be a finite number, got {value!r}"
                return replace(program, status=Status.INVALID, score=None, error=error, features={})
        return program

    def _feature_values(self, program: NewProgram) -> tuple[float, ...] | None:
        if not _placeable(program.status, program.score):
            return None
        seed_code = self._seed_code if program.origin != Origin.SEED or self._seed_code is not None else program.code
        missing = [n for n in self._names if n not in program.features]
        measured = {**feature_values(missing, program.code, program.metrics, seed_code), **program.features}
        return tuple(float(measured[n]) for n in self._names)

    def _write_once(self, program: NewProgram, row: dict[str, Any], values: tuple[float, ...] | None,
                    hash_hex: str, look_first: bool) -> tuple[int, tuple[int, ...] | None]:
        """The write, through an outage; a try after a failed one first looks for the row."""
        look = [look_first]

        def write() -> tuple[int, tuple[int, ...] | None]:
            found = self._written(row["write_key"]) if look[0] else None
            return found if found is not None else self._write(program, row, values, hash_hex)

        def recover() -> None:
            look[0] = True
            self._recover()

        return self.outage.run(write, recover)

    def _write(self, program: NewProgram, row: dict[str, Any], values: tuple[float, ...] | None,
               hash_hex: str) -> tuple[int, tuple[int, ...] | None]:
        if values is not None and self._binner.observe(values):
            for each in self._islands:
                each.rebin(self._binner)
        row["feature_cell"] = list(self._binner.cell(values)) if values is not None else None
        migrating = self._migration_due(program.origin)
        if self._db.autocommit is not None and not migrating:
            program_id = record_program(self._db.autocommit, row, stage_rows(program), program.llm_call_ids)
            return program_id, self._index_new(program, program_id, values, hash_hex, row["instances"])
        with self._db.transaction() as conn:
            program_id = conn.execute(INSERT_PROGRAM, row).inserted_primary_key[0]
            self._write_details(conn, program_id, program)
            cell = self._index_new(program, program_id, values, hash_hex, row["instances"])
            if migrating:
                self._migrate(conn)
        return program_id, cell

    def _written(self, key: str) -> tuple[int, tuple[int, ...] | None] | None:
        """The row (id, cell) a failed write left behind after all, if it did."""
        with self._db.statement() as conn:
            found = conn.execute(select(PROGRAMS.c.id, PROGRAMS.c.feature_cell).where(PROGRAMS.c.write_key == key)).first()
        if found is None:
            return None
        return found.id, tuple(found.feature_cell) if found.feature_cell is not None else None

    def _recover(self) -> None:
        """After a failed write: fresh connections and the index rebuilt from the rows, which
        hold exactly what the database kept of the write. The sampling cursor stays where it
        is: candidates in flight have drawn samples no row shows yet."""
        self._db.reconnect()
        cursor = self._sample_count
        self._reset_index()
        self._replay()
        self._sample_count = max(cursor, self._sample_count)

    def _views_of(self, ids: list[int]) -> dict[int, ProgramView]:
        return self.outage.run(lambda: self._views.fetch(self._db.statement, ids), self._db.reconnect)

    def _migrates_at(self, candidates: int) -> bool:
        """Whether the candidate that brings the count to ``candidates`` triggers a migration:
        the one rule for live recording (``_migration_due``) and for replay (``_place``).
        A migration comes every ``migration_interval`` rounds of the island ring."""
        return candidates % (self.settings.migration_interval * self.settings.num_islands) == 0

    def _migration_due(self, origin: str) -> bool:
        """Whether recording a program of this origin makes ``_place`` count a migration."""
        return is_candidate(origin) and self._migrates_at(self._candidates + 1)

    def _index_new(
        self, program: NewProgram, program_id: int, values: tuple[float, ...] | None, hash_hex: str,
        instances: dict[str, float] | None,
    ) -> tuple[int, ...] | None:
        cell = self._place(program_id, program.origin, program.status, program.island, program.score, values, hash_hex)
        if cell is not None and self.settings.pareto_share > 0:
            self._fronts.place(program_id, program.island, program.origin == Origin.SEED, instances)
        if program.origin == Origin.SEED and self._seed_id is None:
            self._seed_id, self._seed_code = program_id, program.code
        return cell

    def _write_details(self, conn: Connection, program_id: int, program: NewProgram) -> None:
        if program.stages:
            conn.execute(INSERT_STAGES, [{"program_id": program_id, **row} for row in stage_rows(program)])
        if program.llm_call_ids:
            conn.execute(LINK_CALLS, {"call_ids": program.llm_call_ids, "linked_program": program_id})

    def _migrate(self, conn: Connection) -> None:
        """Ring migration: each island sends its best ``migration_rate`` share of elites to
        the next island, where a migrant stays only if it takes a cell (empty or beaten)
        and its code is not already an elite there."""
        if self.settings.migration_rate <= 0 or len(self._islands) < 2:
            return
        outgoing = []
        for island in self._islands:
            ranked = island.ranked()
            outgoing.append(ranked[: math.ceil(self.settings.migration_rate * len(ranked))])
        originals = self._views.fetch(lambda: nullcontext(conn), [e.id for group in outgoing for e in group])
        carried = dict(conn.execute(select(PROGRAMS.c.id, PROGRAMS.c.instances).where(
            PROGRAMS.c.id.in_(list(originals)), PROGRAMS.c.instances.is_not(None))).all())
        now = time.time()
        for source, group in enumerate(outgoing):
            target = self._islands[(source + 1) % len(self._islands)]
            for elite in group:
                present = {e.code_hash for e in target.cells.values()}
                cell = self._binner.cell(elite.features)
                if elite.code_hash in present or not target.would_take(elite, cell):
                    continue
                original = originals[elite.id]
                migrant_id = conn.execute(
                    INSERT_PROGRAM,
                    dict(
                        run_id=self.run.id, parent_id=original.id, island=target.index,
                        generation=original.generation, code=original.code, code_hash=original.code_hash,
                        diff="", origin=Origin.MIGRANT, model=original.model, status=Status.OK, error=None,
                        score=original.score, metrics=original.metrics, artifacts=original.artifacts,
                        instances=carried.get(original.id),
                        features=dict(zip(self._names, elite.features)), feature_cell=list(cell),
                        timings={}, created_at=now, sample_count=self._sample_count,
                    )
                ).inserted_primary_key[0]
                self._place(migrant_id, Origin.MIGRANT, Status.OK, target.index, elite.score, elite.features,
                            original.code_hash)
                if self.settings.pareto_share > 0:
                    self._fronts.place(migrant_id, target.index, False, carried.get(original.id))

    def close(self) -> None:
        """Give the archive's connections back; the archive is unusable afterwards."""
        self._db.close()

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise ArchiveError(
                f"an earlier write failed ({self._broken}); reopen the run with ProgramDatabase.archive to resume"
            )

    def set_test_metrics(self, program_id: int, score: float | None, metrics: dict[str, Any]) -> None:
        metrics = storable(metrics)

        def write() -> None:
            with self._db.statement() as conn:
                conn.execute(
                    update(PROGRAMS)
                    .where(PROGRAMS.c.id == program_id, PROGRAMS.c.run_id == self.run.id)
                    .values(test_score=score, test_metrics=metrics)
                )

        self.outage.run(write, self._db.reconnect)
        self._views.forget(program_id)

    # ---- choosing ---------------------------------------------------------------
    def sample(self) -> Sample:
        """Deterministic given the run seed and how many samples came before."""
        rng = random.Random(f"{self.seed}:{self._sample_count}")
        island = self._islands[self._sample_count % len(self._islands)]
        if not island.cells:
            raise NoParentAvailable(
                f"island {island.index} of run {self.run.name!r} has no successfully evaluated program; "
                "record an ok seed first (a failing seed means the problem's seed program or evaluator is broken)"
            )
        self._sample_count += 1
        parent_id = choose_parent(island, self.settings, rng, self._fronts[island.index])
        return self._offer(island, parent_id, choose_inspirations(island, parent_id, self.settings, rng))

    def _offer(self, island: Island, parent_id: int, inspiration_ids: list[int]) -> Sample:
        views = self._views_of([parent_id, *inspiration_ids])
        parent = views[parent_id]
        return Sample(
            island=island.index,
            parent=parent,
            inspirations=[views[i] for i in inspiration_ids],
            generation=parent.generation + 1,
            failures=[self._failure_text[i] for i in island.failures if i in self._failure_text],
        )

    def sample_for(self, parent_id: int) -> Sample:
        """What ``sample`` would offer with this program as the parent, without advancing
        the run's sampling: for showing the exact prompt a parent produces."""
        parent = self._views_of([parent_id]).get(parent_id)
        if parent is None:
            raise ProgramNotFound(f"no program with id {parent_id}")
        if parent.run_id != self.run.id:
            raise ArchiveError(f"program {parent_id} belongs to run {parent.run_id}, not {self.run.name!r}")
        island = self._islands[parent.island]
        rng = random.Random(f"{self.seed}:{self._sample_count}")
        return self._offer(island, parent_id, choose_inspirations(island, parent_id, self.settings, rng) if island.cells else [])

    def is_duplicate(self, code: str) -> bool:
        return bytes.fromhex(code_hash(code)) in self._hashes

    # ---- reading ----------------------------------------------------------------
    def best(self) -> ProgramView | None:
        if self._best is None:
            return None
        return self._views_of([self._best.id])[self._best.id]

    def seed_program(self) -> ProgramView | None:
        if self._seed_id is None:
            return None
        return self._views_of([self._seed_id])[self._seed_id]

    def counts(self) -> dict[str, int]:
        """Attempts (seeds and migrants excluded): total, ok, failed, and one key per status."""
        ok = self._statuses.get(Status.OK, 0)
        return {**self._statuses, "total": self._candidates, "ok": ok, "failed": self._candidates - ok}

    def state(self) -> dict[str, Any]:
        """JSON-able snapshot of bins and grids (the web UI's heat map; resume checks)."""
        return {
            "run_id": self.run.id,
            "features": self._binner.describe(),
            "islands": [island.snapshot() for island in self._islands],
            "best_id": self._best.id if self._best else None,
            "candidates": self._candidates,
            "migrations": self._migrations,
            "sample_count": self._sample_count,
        }

