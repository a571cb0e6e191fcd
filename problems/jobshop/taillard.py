"""Taillard's job-shop instances, regenerated from their published seeds.

Storing the generator instead of instance files keeps the benchmark exact (80 check
rows prove it) and lets the train split draw fresh instances of the same distribution
from other seeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODULUS = 2**31 - 1
MULTIPLIER = 16807
SCHRAGE_Q = 127773
SCHRAGE_R = 2836
SIZE_CLASSES = ((15, 15), (20, 15), (20, 20), (30, 15), (30, 20), (50, 15), (50, 20), (100, 20))
DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Instance:
    """times[j, k] is the duration of job j's k-th operation, on machine machines[j, k] (0-based)."""

    name: str
    times: np.ndarray
    machines: np.ndarray
    upper_bound: int | None = None

    @property
    def size_class(self) -> str:
        jobs, machines = self.times.shape
        return f"{jobs}x{machines}"

    @property
    def lower_bound(self) -> int:
        """max(largest job load, largest machine load): no schedule can be shorter."""
        job_load = int(self.times.sum(axis=1).max())
        machine_load = int(np.bincount(self.machines.ravel(), self.times.ravel()).max())
        return max(job_load, machine_load)


class ParkMiller:
    """The 'minimal standard' stream Taillard's generator draws from."""

    def __init__(self, seed: int) -> None:
        if not 0 < seed < MODULUS:
            raise ValueError(f"Park-Miller seed must lie in 1..{MODULUS - 1}, got {seed}")
        self.state = seed

    def uniform(self, low: int, high: int) -> int:
        """Advance, then map the state onto low..high as Taillard's unif does."""
        k = self.state // SCHRAGE_Q
        state = MULTIPLIER * (self.state - k * SCHRAGE_Q) - k * SCHRAGE_R
        if state < 0:
            state += MODULUS
        self.state = state
        return low + int(state / MODULUS * (high - low + 1))


def generate(name: str, jobs: int, machines: int, time_seed: int, machine_seed: int) -> Instance:
    """Taillard (1993): times job by job from one stream, machine orders by swaps from another."""
    time_stream = ParkMiller(time_seed)
    times = np.array(
        [[time_stream.uniform(1, 99) for _ in range(machines)] for _ in range(jobs)], dtype=np.int64
    )
    machine_stream = ParkMiller(machine_seed)
    orders = np.tile(np.arange(machines, dtype=np.int64), (jobs, 1))
    for job in range(jobs):
        row = orders[job]
        for position in range(machines):
            other = machine_stream.uniform(position + 1, machines) - 1
            row[position], row[other] = row[other], row[position]
    return Instance(name, times, orders)


def taillard_records() -> list[dict]:
    """The 80 published seeds with their best-known bounds and check rows."""
    return json.loads((DATA / "taillard_instances.json").read_text())


def taillard_instances() -> list[Instance]:
    """ta01-ta80 with their best-known upper bounds (the held-out test split)."""
    instances = []
    for record in taillard_records():
        generated = generate(
            record["name"], record["jobs"], record["machines"], record["time_seed"], record["machine_seed"]
        )
        instances.append(Instance(generated.name, generated.times, generated.machines, record["upper_bound"]))
    return instances


def generated_instances(per_class: int, seed: int) -> list[Instance]:
    """Fresh instances of every Taillard size class, seeds drawn from `seed` and never Taillard's own."""
    taken = {(r["time_seed"], r["machine_seed"]) for r in taillard_records()}
    rng = np.random.default_rng(seed)
    instances = []
    for jobs, machines in SIZE_CLASSES:
        for index in range(per_class):
            time_seed, machine_seed = (int(s) for s in rng.integers(1, MODULUS, size=2))
            if (time_seed, machine_seed) in taken:
                raise ValueError(f"seed {seed} draws a Taillard seed pair; pick another")
            name = f"gen{jobs}x{machines}_{seed}_{index}"
            instances.append(generate(name, jobs, machines, time_seed, machine_seed))
    return instances
