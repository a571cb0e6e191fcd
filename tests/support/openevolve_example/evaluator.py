"""Evaluator in OpenEvolve's format: a three-stage cascade plus a plain evaluate().

Stage 1 returns a dict with combined_score; stage 2 returns an EvaluationResult with
artifacts; stage 3 (robustness) runs only for programs that pass the second threshold.
"""

import importlib.util
import math

from openevolve.evaluation_result import EvaluationResult

BUDGET = 20
# (name, function, lower bound, upper bound, true minimum value)
EASY = [("parabola", lambda x: (x - 1.3) ** 2, -5.0, 5.0, 0.0)]
MEDIUM = EASY + [
    ("shifted_quartic", lambda x: (x + 2.2) ** 4 + 0.5, -5.0, 5.0, 0.5),
    ("wave", lambda x: math.sin(3 * x) + 0.1 * x * x, -4.0, 4.0, -0.97318),
]
HARD = [
    ("narrow_well", lambda x: 1.0 - math.exp(-40 * (x - 0.77) ** 2), -3.0, 3.0, 0.0),
    ("offset_abs", lambda x: abs(x - 2.345) + 1.0, 0.0, 10.0, 1.0),
]


class BudgetExceeded(Exception):
    pass


def _load(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _accuracy(program, cases):
    """Per case: 1 / (1 + gap to the true minimum); calls beyond the budget score 0."""
    scores, lines = {}, []
    for name, f, lo, hi, best in cases:
        calls = [0]

        def counted(x, f=f, calls=calls):
            calls[0] += 1
            if calls[0] > BUDGET:
                raise BudgetExceeded(name)
            return f(x)

        try:
            x = float(program.run_search(counted, lo, hi, BUDGET))
            gap = max(0.0, f(min(max(x, lo), hi)) - best)
            scores[name] = 1.0 / (1.0 + 10.0 * gap)
        except BudgetExceeded:
            scores[name] = 0.0
            x = float("nan")
        lines.append(f"{name}: x={x:.4f} calls={calls[0]} score={scores[name]:.4f}")
    return scores, "\n".join(lines)


def evaluate_stage1(program_path):
    program = _load(program_path)
    scores, _ = _accuracy(program, EASY)
    return {"combined_score": sum(scores.values()) / len(scores), "easy_cases": float(len(scores))}


def evaluate_stage2(program_path):
    program = _load(program_path)
    scores, table = _accuracy(program, MEDIUM)
    worst = min(scores.values())
    return EvaluationResult(
        metrics={"combined_score": sum(scores.values()) / len(scores), "worst_case": worst},
        artifacts={"per_function": table, "raw_scores": repr(sorted(scores.items())).encode()},
    )


def evaluate_stage3(program_path):
    program = _load(program_path)
    scores, table = _accuracy(program, MEDIUM + HARD)
    return EvaluationResult(
        metrics={"combined_score": sum(scores.values()) / len(scores), "robustness": min(scores.values())},
        artifacts={"hard_functions": table},
    )


def evaluate(program_path):
    """Used when cascade_evaluation is off: no combined_score, so the fitness is the metrics' mean."""
    program = _load(program_path)
    scores, _ = _accuracy(program, MEDIUM)
    return {"accuracy": sum(scores.values()) / len(scores), "worst_case": min(scores.values()), "status": "scored"}
