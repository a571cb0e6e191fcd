"""Running ``evolve run`` for a benchmark and reading what its database recorded.

The run goes through the command line exactly as a user starts it, against the scripted
server, so start-up, Ray, the sandbox and the database are all in the figure.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import yaml
from run_measure import RunMeasure

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 900
CANDIDATES = "origin NOT IN ('seed', 'migrant')"  # migrants are copies, not new candidates


class RunFailed(RuntimeError):
    """``evolve run`` exited with an error; the message holds the end of its output."""


def write_config(path: Path, api_base: str, slots: int) -> Path:
    config = {
        "llm": {
            "models": [{"name": "openai/bench", "api_base": api_base,
                        "price_in_per_mtok": 0, "price_out_per_mtok": 0}],
            "diff_ratio": 1.0,
        },
        "evaluation": {"slots": slots, "test_top_k": 0},
        "archive": {"num_islands": 4},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def command(problem: Path, config: Path, db: Path, n: int, k: int, ray_address: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "evolve.cli", "run", str(problem), "--config", str(config),
           "--db", f"sqlite:///{db}", "-n", str(n), "-k", str(k), "--seed", "0"]
    if ray_address:
        cmd += ["--ray-address", ray_address]
    return cmd


def run_evolve(problem: Path, api_base: str, n: int, k: int, slots: int, workdir: Path,
               ray_address: str | None = None, env: dict[str, str] | None = None) -> tuple[RunMeasure, Path]:
    """Run ``n`` candidates with ``k`` in flight on ``slots`` evaluation slots; return the measure and the DB."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.db"
    db.unlink(missing_ok=True)
    config = write_config(workdir / "config.yaml", api_base, slots)
    started = time.perf_counter()
    done = subprocess.run(command(problem, config, db, n, k, ray_address), cwd=ROOT, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, env={**os.environ, **(env or {}), "OPENAI_API_KEY": "bench"})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RunFailed(f"evolve run failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT created_at, status FROM programs WHERE " + CANDIDATES).fetchall()
    return RunMeasure("evolve", k, wall, [row[0] for row in rows], Counter(row[1] for row in rows)), db


@dataclass
class CandidateSplit:
    """Median seconds per candidate, from the engine's timings and the stage and call records.

    Medians, because the first model call of a run pays for litellm's lazy set-up.
    """

    select_s: float
    mutate_s: float
    llm_call_s: float
    evaluate_s: float
    stage_wall_s: float
    evaluator_s: float

    @property
    def prompt_and_edit_s(self) -> float:
        return self.mutate_s - self.llm_call_s

    @property
    def pool_s(self) -> float:
        """Ray dispatch and the pool's queue: the engine's evaluate time outside the sandbox's stages."""
        return self.evaluate_s - self.stage_wall_s

    @property
    def sandbox_s(self) -> float:
        """Fork server and process: the stages' wall time outside the evaluator's own work."""
        return self.stage_wall_s - self.evaluator_s


def candidate_split(db: Path) -> CandidateSplit:
    with sqlite3.connect(db) as conn:
        programs = conn.execute(
            "SELECT id, timings, metrics FROM programs WHERE " + CANDIDATES + " AND status = 'ok'").fetchall()
        stage_wall = dict(conn.execute(
            "SELECT program_id, SUM(wall_s) FROM evaluation_stages GROUP BY program_id").fetchall())
        call_s = dict(conn.execute(
            "SELECT program_id, SUM(latency_s) FROM llm_calls WHERE program_id IS NOT NULL GROUP BY program_id").fetchall())
    timings = [json.loads(row[1]) for row in programs]
    metrics = [json.loads(row[2]) for row in programs]
    return CandidateSplit(
        select_s=median(t["select_s"] for t in timings),
        mutate_s=median(t["mutate_s"] for t in timings),
        llm_call_s=median(call_s.get(row[0], 0.0) for row in programs),
        evaluate_s=median(t["evaluate_s"] for t in timings),
        stage_wall_s=median(stage_wall.get(row[0], 0.0) for row in programs),
        evaluator_s=median(m.get("evaluator_s", 0.0) for m in metrics),
    )
