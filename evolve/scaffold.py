"""`evolve new-problem`: a working problem folder to start from.

The scaffold runs as it is (a toy scheduling objective with a known optimum), so a user
can see the whole loop work before replacing the seed and the evaluator with their own.
"""

from __future__ import annotations

import re
from pathlib import Path

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")

PROBLEM_YAML = """\
name: {name}
description: |
  {name}: order jobs on one machine to minimise the mean completion time.
  Write `priority(job: dict) -> float`; jobs run in decreasing priority. Each job has
  `size` (processing time) and `weight`. The score is minus the weighted mean completion
  time over the training instances (higher is better).
program: seed.py
evaluator: evaluate.py
scoring: channel                # the candidate runs in its own process; evaluate.py calls it
candidate: {{packages: []}}       # what the candidate may import besides the standard library
limits: {{timeout_s: 30, memory_mb: 1024, cpus: 1, gpus: 0}}
features:
  - {{name: complexity, bins: 6}}
splits:
  train: "20 random instances of 50 jobs (seeds 0-19)"
  test: "20 random instances of 200 jobs (seeds 1000-1019)"
evolve: {{iterations: 50}}
"""

SEED = '''\
"""Seed program for {name}: the region between the markers is what evolves."""


# EVOLVE-BLOCK-START
def priority(job: dict) -> float:
    """Higher runs first. The seed ignores weights: shortest job first."""
    return -1.0 * job["size"] + 0.0 * job["weight"]
# EVOLVE-BLOCK-END
'''

EVALUATE = '''\
"""Evaluator for {name}: weighted mean completion time on one machine.

This file is the trusted side: it holds the instances, the objective and the score. The
candidate's program runs in another, sandboxed process that sees none of this file; it is
reached through `candidate`, whose calls carry plain data (numbers, strings, lists, dicts,
numpy arrays) and whose answers must be checked here like any untrusted input. Replace the
instances and the objective with your own simulator, and keep the contract:
evaluate(candidate, split) returns a dict with a finite "score" (higher is better), more
numeric metrics, and optional "artifacts" (text shown to the model).
"""

import math
import random

from evolve.evaluators.channel import Candidate
from evolve.evaluators.contract import InvalidProgram


def instances(split: str) -> list[list[dict]]:
    seeds, jobs = (range(0, 20), 50) if split == "train" else (range(1000, 1020), 200)
    out = []
    for seed in seeds:
        rng = random.Random(seed)
        out.append([{{"size": rng.uniform(1, 10), "weight": rng.uniform(0.1, 5)}} for _ in range(jobs)])
    return out


def weighted_completion(jobs: list[dict], order: list[int]) -> float:
    clock, total = 0.0, 0.0
    for i in order:
        clock += jobs[i]["size"]
        total += jobs[i]["weight"] * clock
    return total / sum(j["weight"] for j in jobs)


def priorities(candidate: Candidate, jobs: list[dict]) -> list[float]:
    """One round trip for every job of an instance; each answer checked."""
    keys = candidate.call_many("priority", [(job,) for job in jobs])
    for value in keys:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidProgram(f"priority must return a finite number, got {{value!r}}")
    return keys


def evaluate(candidate: Candidate, split: str = "train") -> dict:
    if not candidate.has("priority"):
        raise InvalidProgram("the program must define priority(job: dict) -> float")
    costs = []
    for jobs in instances(split):
        keys = priorities(candidate, jobs)
        order = sorted(range(len(jobs)), key=lambda i: -keys[i])
        costs.append(weighted_completion(jobs, order))
    optimum = [weighted_completion(j, sorted(range(len(j)), key=lambda i: j[i]["size"] / j[i]["weight"]))
               for j in instances(split)]
    gap = [100 * (c - o) / o for c, o in zip(costs, optimum)]
    worst = max(range(len(gap)), key=gap.__getitem__)
    return {{
        "score": -sum(costs) / len(costs),
        "gap_to_optimum_pct": sum(gap) / len(gap),
        "artifacts": {{"worst_instance": f"instance {{worst}}: {{gap[worst]:.2f}} % above the optimum"}},
    }}
'''

README = """\
# {name}

A problem scaffolded by `evolve new-problem`. It runs as it is:

    evolve eval {name} problems/{name}/seed.py
    evolve run {name} -n 20

Then replace `seed.py` (keep the EVOLVE-BLOCK markers around what may change) and
`evaluate.py` (keep the `evaluate(candidate, split)` contract: the candidate runs in its own process), put data in `data/`
with its provenance, and human baselines in `baselines/`. See docs/writing-a-problem.md.
"""


class ScaffoldError(ValueError):
    """The folder cannot be created: a bad name or an existing folder."""


def scaffold_problem(name: str, directory: Path) -> Path:
    if not NAME.match(name):
        raise ScaffoldError(f"'{name}' is not a valid problem name: use letters, digits, '_' or '-', starting with a letter")
    root = directory / name
    if root.exists():
        raise ScaffoldError(f"{root} already exists; choose another name or remove it")
    (root / "data").mkdir(parents=True)
    (root / "baselines").mkdir()
    files = {
        "problem.yaml": PROBLEM_YAML,
        "seed.py": SEED,
        "evaluate.py": EVALUATE,
        "README.md": README,
        "data/README.md": "Data for {name}, with where each file comes from.\n",
        "baselines/README.md": "Human baselines for {name}: programs of the same form as seed.py.\n",
    }
    for relative, template in files.items():
        (root / relative).write_text(template.format(name=name))
    return root
