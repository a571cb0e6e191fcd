"""Benchmark seed: one constant for the scripted server to change; the evaluator only reads it."""


# EVOLVE-BLOCK-START
def value() -> float:
    return 1.5
# EVOLVE-BLOCK-END
