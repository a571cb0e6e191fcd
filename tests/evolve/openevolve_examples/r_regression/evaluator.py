"""Runs the R program with Rscript on data with outliers and scores the line it fits.

Laid out as OpenEvolve's R example evaluates its programs: a small R script sources the
candidate, calls its main() and writes the result as JSON (jsonlite) for this evaluator.
There is no combined_score, so the fitness is the mean of the numeric metrics.
"""

import asyncio
import json
import os
import subprocess
import tempfile

import numpy as np
from openevolve.evaluation_result import EvaluationResult

TRUE_INTERCEPT, TRUE_SLOPE = 1.0, 2.0
SCRIPT = """
source("{program}")
data_path <- "{data}"
result <- main()
write(jsonlite::toJSON(result, auto_unbox = TRUE, digits = NA), "{output}")
"""


def _data(path, seed, outliers):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, 200)
    y = TRUE_INTERCEPT + TRUE_SLOPE * x + rng.normal(0.0, 0.3, x.size)
    y[:outliers] += rng.uniform(20.0, 60.0, outliers)
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.6f")


async def evaluate(program_path: str) -> EvaluationResult:
    errors, outcomes = [], []
    with tempfile.TemporaryDirectory() as folder:
        for case, outliers in enumerate((0, 20, 40)):
            data, output = os.path.join(folder, f"data{case}.csv"), os.path.join(folder, f"out{case}.json")
            _data(data, 7 + case, outliers)
            script = os.path.join(folder, f"run{case}.R")
            with open(script, "w") as handle:
                handle.write(SCRIPT.format(program=program_path, data=data, output=output))
            ran = subprocess.run(["Rscript", script], capture_output=True, text=True, timeout=30, cwd=folder)
            if ran.returncode != 0 or not os.path.exists(output):
                errors.append(f"case {case}: {ran.stderr.strip()[-800:]}")
                continue
            with open(output) as handle:
                fit = json.load(handle)
            if not all(isinstance(fit.get(k), (int, float)) for k in ("intercept", "slope")):
                errors.append(f"case {case}: main() must return numbers intercept and slope, not {fit}")
                continue
            outcomes.append(fit)
    if not outcomes:
        return EvaluationResult(metrics={"score": 0.0, "slope_error": float("inf")},
                                artifacts={"error": "\n".join(errors)})
    slope_error = float(np.mean([abs(o["slope"] - TRUE_SLOPE) for o in outcomes]))
    intercept_error = float(np.mean([abs(o["intercept"] - TRUE_INTERCEPT) for o in outcomes]))
    accuracy = 1.0 / (1.0 + slope_error + 0.1 * intercept_error)
    completed = len(outcomes) / 3
    return EvaluationResult(
        metrics={"score": accuracy * completed, "slope_error": slope_error, "accuracy": accuracy,
                 "completed": completed},
        artifacts={"fits": json.dumps(outcomes), **({"errors": "\n".join(errors)} if errors else {})},
    )


if __name__ == "__main__":
    import sys

    print(asyncio.run(evaluate(sys.argv[1])))
