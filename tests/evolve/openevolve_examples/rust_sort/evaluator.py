"""Builds the Rust program with cargo in a fresh project and times the benchmark in bench/.

Laid out as OpenEvolve's Rust example evaluates its programs: the candidate becomes
src/lib.rs of a project made by `cargo init`, the benchmark's main.rs and Cargo.toml are
copied in, then `cargo build --release` and `cargo run --release`.
"""

import asyncio
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from openevolve.evaluation_result import EvaluationResult

BENCH = Path(__file__).resolve().parent / "bench"
FAILED = {"combined_score": 0.0, "compile_success": 0.0, "correctness": 0.0}


def _cargo(args, cwd, timeout):
    return subprocess.run(["cargo", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


async def evaluate(program_path: str) -> EvaluationResult:
    with tempfile.TemporaryDirectory() as temp_dir:
        project = Path(temp_dir) / "sort_bench"
        made = _cargo(["init", "--name", "sort_bench", str(project)], temp_dir, 60)
        if made.returncode != 0:
            return EvaluationResult(metrics=dict(FAILED), artifacts={"error": "cargo init failed", "stderr": made.stderr})
        shutil.copy(program_path, project / "src" / "lib.rs")
        shutil.copy(BENCH / "src" / "main.rs", project / "src" / "main.rs")
        shutil.copy(BENCH / "Cargo.toml", project / "Cargo.toml")
        built = _cargo(["build", "--release", "--quiet"], project, 90)
        if built.returncode != 0:
            return EvaluationResult(metrics=dict(FAILED), artifacts={"error": "Compilation failed", "stderr": built.stderr})
        ran = _cargo(["run", "--release", "--quiet"], project, 30)
        if ran.returncode != 0:
            metrics = {**FAILED, "compile_success": 1.0}
            return EvaluationResult(metrics=metrics, artifacts={"error": "Runtime error", "stderr": ran.stderr})
        result = json.loads(ran.stdout[ran.stdout.find("{"):ran.stdout.rfind("}") + 1])
        correct = 1.0 if result["correct"] else 0.0
        speed = 1.0 / (1.0 + 100.0 * result["seconds"])
        return EvaluationResult(
            metrics={"combined_score": correct * speed, "compile_success": 1.0, "correctness": correct,
                     "seconds": result["seconds"]},
            artifacts={"benchmark": ran.stdout},
        )


if __name__ == "__main__":
    import sys

    print(asyncio.run(evaluate(sys.argv[1])))
