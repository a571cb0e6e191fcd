"""Benchmark seed: the scripted server changes the number in the label; the evaluator reads its length.

The number sits in a string so that every change the server makes, however large the
number grows, leaves a valid program.
"""


# EVOLVE-BLOCK-START
def value() -> float:
    label = "variant 1.5"
    return float(len(label))
# EVOLVE-BLOCK-END
