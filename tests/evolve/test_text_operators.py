"""The offline mutator on programs it cannot parse: constants and operators mutated as text."""

import random
import re

from evolve.offline import OfflineMutator
from evolve.regions import frozen_text
from evolve.text_operators import mutate_text

CPP = """#include <vector>
// EVOLVE-BLOCK-START
std::vector<double> priority(double item, const std::vector<double>& bins) {
    std::vector<double> scores(bins.size());  // 7 stays a comment
    for (size_t i = 0; i < bins.size(); ++i) scores[i] = -1.0 * (bins[i] - item) + 2.5;
    const char* label = "x < 3";
    return scores;
}
// EVOLVE-BLOCK-END
int main() { return 0; }
"""


def test_text_mutations_change_constants_and_spaced_operators_only():
    body = CPP.split("// EVOLVE-BLOCK-START\n")[1].split("// EVOLVE-BLOCK-END")[0]
    seen = set()
    for seed in range(200):
        child = mutate_text(body, random.Random(seed))
        assert child is not None and child != body
        assert "// 7 stays a comment" in child and '"x < 3"' in child
        assert "std::vector<double>" in child and "const std::vector<double>& bins" in child
        seen.add(child)
    assert any("2.5" not in c for c in seen) and any(" <= bins.size()" in c for c in seen)
    assert any(" - (bins[i] - item)" not in c and "1.0 / (" in c for c in seen)


def test_nothing_to_mutate_is_none():
    assert mutate_text("return x;\n", random.Random(0)) is None


def test_the_offline_mutator_works_on_a_cpp_program_and_keeps_its_frame():
    mutator = OfflineMutator()
    children = [mutator.mutate(CPP, [], seed) for seed in range(30)]
    assert all(p.code is not None for p in children), [p.error for p in children if p.code is None]
    assert all(frozen_text(p.code) == frozen_text(CPP) for p in children)
    numbers = {tuple(re.findall(r"\d+\.\d+", p.code)) for p in children}
    assert len(numbers) > 5
