"""Benchmark evaluator: a fixed 0.5 s of waiting (no CPU), like a simulator of known length,
so the framework's own cost is what a run measures.

OpenEvolve runs this file too (benchmarks/openevolve_side.py): it calls evaluate(path) and
reads combined_score, evolve calls evaluate(path, split) and reads score.
"""

import importlib.util
import time

PAUSE_S = 0.5


def evaluate(program_path, split="train"):
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    time.sleep(PAUSE_S)
    score = -abs(float(module.value()) - 100.0)
    return {"score": score, "combined_score": score, "evaluator_s": time.perf_counter() - started}
