"""The novelty filter: near-copies of an island's programs are caught before evaluation."""

from __future__ import annotations

import asyncio

import pytest

from evolve.novelty import MinHasher, NoveltyFilter, evolvable_text, shingles

PROGRAM = '''import math

# EVOLVE-BLOCK-START
def priority(item, bins):
    """Prefer the fullest bin that fits."""
    slack = bins - item
    waste = slack / (bins + 1e-9)
    bonus = 0.5 * (slack < 0.1 * item) + 3.0 * math.exp(-slack)
    return -slack * 1.0 - 0.25 * waste + bonus
# EVOLVE-BLOCK-END


def choose(item, bins):
    scores = priority(item, bins)
    return max(range(len(bins)), key=lambda i: scores[i])
'''
ONE_CONSTANT = PROGRAM.replace("0.25 * waste", "0.3 * waste")
NEW_IDEA = PROGRAM.replace(
    "    waste = slack / (bins + 1e-9)\n    bonus = 0.5 * (slack < 0.1 * item) + 3.0 * math.exp(-slack)\n"
    "    return -slack * 1.0 - 0.25 * waste + bonus\n",
    "    order = sorted(range(len(bins)), key=lambda i: bins[i])\n    rank = {i: r for r, i in enumerate(order)}\n"
    "    return [rank[i] if bins[i] >= item else -1 for i in range(len(bins))]\n",
)


def exact_jaccard(a: str, b: str) -> float:
    sa, sb = set(shingles(evolvable_text(a)).tolist()), set(shingles(evolvable_text(b)).tolist())
    return len(sa & sb) / len(sa | sb)


def check(novelty: NoveltyFilter, island: int, code: str):
    return asyncio.run(novelty.check(island, code, []))


def test_minhash_estimates_the_jaccard_similarity_of_token_shingles():
    hasher = MinHasher()
    for other in (ONE_CONSTANT, NEW_IDEA, PROGRAM.replace("1.0", "2.0").replace("3.0", "4.0")):
        estimate = float((hasher.signature(PROGRAM) == hasher.signature(other)).mean())
        assert estimate == pytest.approx(exact_jaccard(PROGRAM, other), abs=0.12)


def test_a_one_constant_change_is_too_similar_and_a_new_idea_is_not():
    novelty = NoveltyFilter(0.8, num_islands=1)
    novelty.add(0, 7, PROGRAM)
    verdict = check(novelty, 0, ONE_CONSTANT)
    assert verdict is not None and verdict.similar_to == 7 and verdict.similarity >= 0.8
    assert verdict.artifacts()["similar_to"] == "7" and "not evaluated" in verdict.error
    assert check(novelty, 0, NEW_IDEA) is None


def test_only_the_evolvable_regions_count():
    reframed = PROGRAM.replace("import math", "import math\nimport os\nLIMIT = 3\n").replace("def choose", "def pick")
    hasher = MinHasher()
    assert (hasher.signature(PROGRAM) == hasher.signature(reframed)).all()
    commented = PROGRAM.replace("slack = bins - item", "slack = bins - item  # how much room is left")
    assert (hasher.signature(PROGRAM) == hasher.signature(commented)).all()


def test_islands_are_compared_separately_and_the_seed_is_on_every_island():
    from evolve.database.records import ProgramView

    novelty = NoveltyFilter(0.8, num_islands=2)
    seed = ProgramView(id=1, run_id=1, parent_id=None, island=0, generation=0, code=NEW_IDEA, code_hash="",
                       origin="seed", status="ok", score=1.0)
    child = ProgramView(id=2, run_id=1, parent_id=1, island=0, generation=1, code=PROGRAM, code_hash="",
                        origin="diff", status="ok", score=2.0)
    failed = ProgramView(id=3, run_id=1, parent_id=1, island=1, generation=1, code=PROGRAM, code_hash="",
                         origin="diff", status="error", score=None)
    for view in (seed, child, failed):
        novelty.admit(view)
    assert check(novelty, 0, ONE_CONSTANT).similar_to == 2
    assert check(novelty, 1, ONE_CONSTANT) is None  # the failed row is no member of island 1
    assert check(novelty, 1, NEW_IDEA.replace("-1 for", "-2 for")).similar_to == 1


def test_loading_the_members_gives_the_same_verdicts_as_adding_them_live():
    members = [(1, 0, "seed", NEW_IDEA), (2, 0, "diff", PROGRAM), (3, 1, "diff", ONE_CONSTANT)]
    live, loaded = NoveltyFilter(0.5, num_islands=2), NoveltyFilter(0.5, num_islands=2)
    for pid, island, origin, code in members:
        for each in (0, 1) if origin == "seed" else (island,):
            live.add(each, pid, code)
    loaded.load(members)
    for island in (0, 1):
        for code in (PROGRAM, ONE_CONSTANT, NEW_IDEA):
            assert check(live, island, code) == check(loaded, island, code)


def test_the_island_sketch_grows_past_its_first_allocation():
    novelty = NoveltyFilter(0.99, num_islands=1)
    for pid in range(100):
        novelty.add(0, pid, PROGRAM.replace("3.0 * math", f"{pid + 10}.0 * math"))
    verdict = check(novelty, 0, PROGRAM.replace("3.0 * math", "57.0 * math"))
    assert verdict is not None and verdict.similar_to == 47 and verdict.similarity == 1.0
