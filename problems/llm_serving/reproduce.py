"""Prints the README's table: every baseline and the seed on the train and test splits.

Run from the repository root: python problems/llm_serving/reproduce.py
The oracle SJF row is the only one scored with the true output lengths.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import evaluate  # noqa: E402

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


def main() -> None:
    print("| policy | train SLO | test SLO | train TTFT p99 (s) | test TTFT p99 (s) | train Jain | test Jain "
          "| train hit rate | test hit rate |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, path in PROGRAMS:
        oracle = "oracle" in path
        train = evaluate.evaluate(str(HERE / path), "train", oracle_lengths=oracle)
        test = evaluate.evaluate(str(HERE / path), "test", oracle_lengths=oracle)
        print(
            f"| {label} | {train['score']:.3f} | {test['score']:.3f} | {train['ttft_p99']:.2f} | {test['ttft_p99']:.2f} "
            f"| {train['jain_fairness']:.3f} | {test['jain_fairness']:.3f} "
            f"| {train['prefix_hit_rate']:.1%} | {test['prefix_hit_rate']:.1%} |"
        )


if __name__ == "__main__":
    main()
