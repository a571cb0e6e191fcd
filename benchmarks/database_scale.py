"""Program database at scale: 100,000 programs, on SQLite and on PostgreSQL.

Measures what the driver pays per candidate (sample a parent with inspirations, then
record the child durably), how long resuming such a run takes, and how much memory the
in-memory index costs per program (tracemalloc). Prints a markdown table.

    python benchmarks/database_scale.py [--programs 100000] [--steps 2000] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import insert

from evolve.database import ArchiveSettings, FeatureDimension, NewProgram, ProgramDatabase, RunArchive
from evolve.database.features import ast_complexity, code_hash, feature_values, line_edit_distance
from evolve.database.models import Program
from evolve.evaluators.result import StageRecord

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from pg_cluster import TemporaryPostgres, find_binaries  # noqa: E402

SEED_LINES = [f"    total += weights[{i}] * values[{i}]  # term {i}" for i in range(36)]
SEED = "def score(weights, values):\n    total = 0.0\n" + "\n".join(SEED_LINES) + "\n    return total\n"
BATCH = 5000


def synthetic_code(index: int, rng: random.Random) -> str:
    """A program about as long as an evolved heuristic (~1.6 KB), unique per index."""
    lines = list(SEED_LINES)
    for _ in range(rng.randint(1, 6)):
        lines[rng.randrange(len(lines))] = f"    total += {rng.random():.6f} * values[{rng.randrange(36)}]"
    lines.append(f"    total += {index}")
    return "def score(weights, values):\n    total = 0.0\n" + "\n".join(lines) + "\n    return total\n"


def fill(db: ProgramDatabase, programs: int, settings: ArchiveSettings, seed: int) -> int:
    """Bulk-insert a run of ``programs`` attempts (80 % ok) with consistent features."""
    run = db.create_run(None, "benchmark", {}, seed)
    rng = random.Random(seed)
    table = Program.__table__
    seed_complexity = ast_complexity(SEED)
    rows = []
    now = time.time()
    islands = settings.num_islands
    with db.engine.begin() as conn:
        for index in range(programs):
            code = SEED if index == 0 else synthetic_code(index, rng)
            ok = index == 0 or rng.random() < 0.8
            gap = rng.random()
            features = {
                "gap": gap,
                "complexity": float(seed_complexity + rng.randint(-20, 60)),
                "edit_distance": float(0 if index == 0 else rng.randint(1, 30)),
            }
            rows.append({
                "run_id": run.id, "parent_id": None if index == 0 else rng.randint(1, index),
                "island": index % islands, "generation": index // 50, "code": code,
                "code_hash": code_hash(code), "diff": "", "origin": "seed" if index == 0 else "diff",
                "model": "bench-model", "status": "ok" if ok else "error",
                "error": None if ok else "IndexError: list index out of range",
                "score": rng.random() * 100 if ok else None, "metrics": {"gap": gap},
                "artifacts": {}, "features": features if ok else None, "feature_cell": None,
                "timings": {"eval_s": 0.5}, "created_at": now + index * 1e-3,
            })
            if len(rows) == BATCH:
                conn.execute(insert(table), rows)
                rows = []
        if rows:
            conn.execute(insert(table), rows)
    return run.id


def candidate_latencies(archive: RunArchive, steps: int, features_during_evaluation: bool = False) -> list[float]:
    """Seconds per sample() + record() of a child, 80 % of them ok, each with its
    evaluation stages as the engine records them (a quick and a full stage; failures stop
    after the first).

    With ``features_during_evaluation`` the built-in features are computed between the
    two, outside the timed window, and passed in ``NewProgram.features``: that is what the
    engine does (in a thread, while the candidate is evaluated on a worker).
    """
    rng = random.Random(7)
    names = [d.name for d in archive.settings.features]
    seed_code = archive.seed_program().code if features_during_evaluation else None
    latencies = []
    for _ in range(steps):
        t0 = time.perf_counter()
        sample = archive.sample()
        sampled = time.perf_counter() - t0
        child = sample.parent.code.replace("total = 0.0", f"total = {rng.random():.6f}", 1)
        ok = rng.random() < 0.8
        stages = [StageRecord("quick", "ok" if ok else "error", 0.05, 0.04, None if ok else "TimeoutError")]
        if ok:
            stages.append(StageRecord("full", "ok", 0.4, 0.38))
        features = feature_values(names, child, {}, seed_code) if features_during_evaluation else {}
        t1 = time.perf_counter()
        archive.record(NewProgram(
            sample.parent.id, sample.island, sample.generation, child, "diff", "ok" if ok else "error",
            score=rng.random() * 100 if ok else None, metrics={"gap": rng.random()},
            error=None if ok else "TimeoutError", model="bench-model", timings={"eval_s": 0.4},
            features=features, stages=stages,
        ))
        latencies.append(sampled + time.perf_counter() - t1)
    return sorted(latencies)


def measure(url: str, label: str, programs: int, steps: int) -> list[dict[str, float | str]]:
    builtin = ArchiveSettings(num_islands=4)
    metric = ArchiveSettings(num_islands=4, features=[FeatureDimension(name="gap", bins=10, range=(0, 1))])
    seed = 1
    db = ProgramDatabase(url)
    started = time.perf_counter()
    run_ids = {"built-in": fill(db, programs, builtin, seed), "metric": fill(db, programs, metric, seed)}
    fill_s = (time.perf_counter() - started) / 2
    if db.engine.dialect.name == "postgresql":
        # A database that grew to this size over a run has been vacuumed, analysed and
        # checkpointed long since; without this, autovacuum and the checkpointer's writes
        # of the bulk fill land in the measurement.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    db.close()

    results = []
    variants = (("metric", metric, False, False), ("built-in", builtin, False, False),
                ("built-in, computed during evaluation", builtin, False, True), ("metric", metric, True, False),
                ("built-in, computed during evaluation", builtin, True, True))
    for features, settings, flush, during_evaluation in variants:
        run_id = run_ids[features.split(",")[0]]
        gc.collect()
        started = time.perf_counter()
        archive = ProgramDatabase(url, flush_each_commit=flush).archive(run_id, settings, seed)
        resume_s = time.perf_counter() - started

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        traced = ProgramDatabase(url).archive(run_id, settings, seed)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        index_bytes = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        del traced

        latencies = candidate_latencies(archive, steps, during_evaluation)
        results.append({
            "backend": label + (", flush_each_commit" if flush else ""),
            "features": features,
            "programs": programs,
            "fill_s": fill_s,
            "median_ms": statistics.median(latencies) * 1e3,
            "p90_ms": latencies[int(0.9 * len(latencies))] * 1e3,
            "resume_s": resume_s,
            "bytes_per_program": index_bytes / programs,
        })
    return results


def timed_features(code: str, repeats: int) -> float:
    """Median cost of the built-in features (part of every record of an ok program)."""
    rng = random.Random(3)
    times = []
    for i in range(repeats):
        child = synthetic_code(i, rng)
        t0 = time.perf_counter()
        ast_complexity(child)
        line_edit_distance(child, code)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'evolve.db'}"
            results += measure(url, "SQLite (WAL, synchronous=NORMAL)", args.programs, args.steps)
    if args.backend in ("postgresql", "both"):
        if find_binaries() is None:
            print("PostgreSQL binaries not found; PostgreSQL row left out")
        else:
            with TemporaryPostgres(fsync=True) as server:
                results += measure(server.url, "PostgreSQL 15 (local, fsync on)", args.programs, args.steps)
    print("| back end | grid features | programs | sample+record median (ms) | p90 (ms) "
          "| resume (s) | index bytes/program | bulk fill (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['features']} | {r['programs']:,} | {r['median_ms']:.3f} | {r['p90_ms']:.3f} "
              f"| {r['resume_s']:.2f} | {r['bytes_per_program']:.0f} | {r['fill_s']:.1f} |")
    print(f"\nbuilt-in features (AST complexity + line edit distance) of one ~1.6 KB program: "
          f"{timed_features(SEED, 200) * 1e3:.3f} ms median")


if __name__ == "__main__":
    main()
