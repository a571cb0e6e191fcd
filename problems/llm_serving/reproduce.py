"""Prints the README's table: every baseline and the seed on the train and test splits.

Run from the repository root: python problems/llm_serving/reproduce.py
The oracle SJF row is the only one scored with the true output lengths. Each program runs
in its own process on the scoring channel, seeing only the problem's public modules, as in
a run (without the sandbox).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import evaluate  # noqa: E402

from evolve.evaluators.candidate_server import copy_public  # noqa: E402
from evolve.evaluators.channel import open_candidate  # noqa: E402
from evolve.evaluators.problem import load_problem  # noqa: E402

PROGRAMS = [
    ("seed", "seed.py"),
    ("FCFS + round robin", "baselines/fcfs_round_robin.py"),
    ("least load (Llumnix)", "baselines/least_load.py"),
    ("prefix affinity", "baselines/prefix_affinity.py"),
    ("SJF, predicted length", "baselines/sjf_predicted.py"),
    ("SJF, oracle length", "baselines/sjf_oracle.py"),
    ("VTC", "baselines/vtc.py"),
    ("DLPM", "baselines/dlpm.py"),
]


def score(program: Path, public: Path, split: str, oracle: bool) -> dict:
    with open_candidate(program, public=[public]) as candidate:
        return evaluate.evaluate(candidate, split, oracle_lengths=oracle)


def main() -> None:
    public = Path(tempfile.mkdtemp(prefix="llm_serving_public_"))
    copy_public(HERE, load_problem(str(HERE)).candidate.public, public)
    print("| policy | train SLO | test SLO | train TTFT p99 (s) | test TTFT p99 (s) | train Jain | test Jain "
          "| train hit rate | test hit rate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, path in PROGRAMS:
        oracle = "oracle" in path
        train = score(HERE / path, public, "train", oracle)
        test = score(HERE / path, public, "test", oracle)
        print(
            f"| {label} | {train['score']:.3f} | {test['score']:.3f} | {train['ttft_p99']:.2f} | {test['ttft_p99']:.2f} "
            f"| {train['jain_fairness']:.3f} | {test['jain_fairness']:.3f} "
            f"| {train['prefix_hit_rate']:.1%} | {test['prefix_hit_rate']:.1%} |"
        )


if __name__ == "__main__":
    main()
