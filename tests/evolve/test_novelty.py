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


# ---- in a run, against the scripted model server ------------------------------------
LONG_SEED = '''\
# EVOLVE-BLOCK-START
def value():
    base = 1.0
    weights = [0.5, 0.25, 0.125]
    total = sum(w * (i + base) for i, w in enumerate(weights))
    spread = max(weights) - min(weights)
    damped = total / (1.0 + spread * 2.5)
    bonus = 3.0 if damped > 0.1 else -4.0
    return damped + bonus * 0.01
# EVOLVE-BLOCK-END
'''
NEW_VALUE = '''\
def value():
    terms = [k * k for k in range(1, 9)]
    return float(len(terms)) + sorted(terms)[-1] / 7.0
'''
EVALUATE = '''\
from evolve.evaluators.contract import load_program


def evaluate(program_path, split="train"):
    return {"score": float(load_program(program_path).value())}
'''


@pytest.fixture
def long_problem(tiny_problem):
    return tiny_problem(evaluator=EVALUATE, seed=LONG_SEED, limits={"timeout_s": 10, "memory_mb": 512})


@pytest.fixture
def pool(long_problem, sandbox_pool):
    return sandbox_pool(long_problem)


def llm_config(api_base: str, **overrides):
    from evolve.config import build_config

    model = {"name": "openai/cheap-model", "api_base": api_base, "max_tokens": 300,
             "price_in_per_mtok": 0.5, "price_out_per_mtok": 1.0}
    llm = {"models": [model], "diff_ratio": 1.0, "retries": 0, "timeout_s": 20, **overrides.pop("llm", {})}
    archive = {"num_islands": 1, **overrides.pop("archive", {})}
    return build_config(cli_overrides={"max_in_flight": 1, "seed": 5, "llm": llm, "archive": archive,
                                       "evaluation": {"test_top_k": 0}, **overrides})


def start(problem, pool, db_url: str, config, run_id: int | None = None):
    from evolve.database import ProgramDatabase
    from evolve.database.call_journal import CallJournal
    from evolve.engine import Engine
    from evolve.llm_mutator import LLMMutator

    db = ProgramDatabase(db_url)
    if run_id is None:
        run_id = db.create_run(None, problem.name, config.model_dump(mode="json"), config.seed).id
    archive = db.archive(run_id, config.archive, config.seed)
    journal = CallJournal(db.engine, run_id, config.budget_usd, db.outage)
    mutator = LLMMutator(config.llm, rng_seed=config.seed, journal=journal)
    engine = Engine(problem=problem, config=config, archive=archive, mutator=mutator, pool=pool, journal=journal)
    asyncio.run(engine.run())
    archive.close()
    return db, run_id


def rows_of(db, run_id):
    from evolve.database.queries import export_programs

    return [row for row in export_programs(db, run_id) if row["origin"] != "seed"]


def rewrite_reply(body: str) -> str:
    return f"A new approach.\n```python\n{body}```\n"


@pytest.mark.slow
def test_near_duplicate_replies_are_recorded_too_similar_and_not_evaluated(openai_server, long_problem, pool, tmp_path):
    from tests.support.openai_server import Reply

    db_url = f"sqlite:///{tmp_path}/runs.db"
    openai_server.set_mode("valid")  # every reply changes one constant of the program it was shown
    openai_server.script(Reply(rewrite_reply(NEW_VALUE)))
    config = llm_config(openai_server.api_base, iterations=5, archive={"novelty_threshold": 0.7},
                        llm={"diff_ratio": 0.0})
    db, run_id = start(long_problem, pool, db_url, config)
    rows = rows_of(db, run_id)
    assert [row["status"] for row in rows] == ["ok"] + ["too_similar"] * 4
    assert pool.calls == 1 + 1  # the seed and the one new idea
    members = {row["id"] for row in rows if row["status"] == "ok"} | {rows[0]["parent_id"]}
    for row in rows[1:]:
        assert int(row["artifacts"]["similar_to"]) in members
        assert float(row["artifacts"]["similarity"]) >= 0.7
        assert f"to program {row['artifacts']['similar_to']}" in row["error"] and row["code"]  # kept to be read

    # Resumed, the island's members are read back: near-copies are still caught.
    more = llm_config(openai_server.api_base, iterations=8, archive={"novelty_threshold": 0.7},
                      llm={"diff_ratio": 0.0})
    db, _ = start(long_problem, pool, db_url, more, run_id)
    rows = rows_of(db, run_id)
    assert len(rows) == 8 and [row["status"] for row in rows[5:]] == ["too_similar"] * 3
    assert pool.calls == 2


@pytest.mark.slow
def test_without_a_threshold_every_candidate_is_evaluated(openai_server, long_problem, pool, tmp_path):
    openai_server.set_mode("valid-diff")
    config = llm_config(openai_server.api_base, iterations=3)
    db, run_id = start(long_problem, pool, f"sqlite:///{tmp_path}/runs.db", config)
    assert [row["status"] for row in rows_of(db, run_id)] == ["ok"] * 3
    assert pool.calls == 1 + 3


@pytest.mark.slow
def test_the_judge_decides_borderline_pairs_and_its_calls_are_priced(openai_server, long_problem, pool, tmp_path):
    from evolve.database.queries import run_summary
    from tests.support.openai_server import Reply

    openai_server.set_mode("valid-diff")
    openai_server.script(Reply("<<<<<<< SEARCH\n    base = 1.0\n=======\n    base = 1.5\n>>>>>>> REPLACE\n"),
                         Reply("SAME: only the base constant moved."),
                         Reply("<<<<<<< SEARCH\n    bonus = 3.0 if damped > 0.1 else -4.0\n=======\n"
                               "    bonus = 3.5 if damped > 0.1 else -4.0\n>>>>>>> REPLACE\n"),
                         Reply("DIFFERENT: the bonus changes the score."))
    config = llm_config(openai_server.api_base, iterations=2,
                        archive={"novelty_threshold": 0.99, "novelty_judge_band": 0.5})
    db, run_id = start(long_problem, pool, f"sqlite:///{tmp_path}/runs.db", config)
    rows = rows_of(db, run_id)
    assert [row["status"] for row in rows] == ["too_similar", "ok"]
    assert rows[0]["artifacts"]["novelty_judge"].startswith("SAME")
    assert pool.calls == 1 + 1
    judged = [r for r in openai_server.requests if "Answer SAME or DIFFERENT" in r.messages[-1]["content"]]
    assert len(judged) == 2 and "base = 1.5" in judged[0].messages[-1]["content"]
    summary = run_summary(db, run_id)
    with db.engine.connect() as conn:
        from sqlalchemy import text

        kinds = conn.execute(text("select kind, program_id, cost_usd from llm_calls order by id")).all()
    assert [k for k, _, _ in kinds] == ["mutation", "novelty_judge", "mutation", "novelty_judge"]
    assert kinds[1][1] == rows[0]["id"] and kinds[1][2] > 0  # linked to the candidate it judged, and priced
    assert summary["cost_usd"] == pytest.approx(sum(cost for _, _, cost in kinds))


@pytest.mark.slow
def test_with_an_embedding_model_similarity_is_cosine_and_each_call_is_recorded_and_priced(
        openai_server, long_problem, pool, tmp_path):
    from sqlalchemy import text

    from tests.support.openai_server import Reply

    openai_server.set_mode("valid")
    openai_server.script(Reply(rewrite_reply(NEW_VALUE)))
    embedding = {"name": "openai/embed-model", "api_base": openai_server.api_base, "price_in_per_mtok": 100.0}
    db_url = f"sqlite:///{tmp_path}/runs.db"
    config = llm_config(openai_server.api_base, iterations=3, archive={"novelty_threshold": 0.9},
                        llm={"diff_ratio": 0.0, "embedding_model": embedding})
    db, run_id = start(long_problem, pool, db_url, config)
    rows = rows_of(db, run_id)
    assert [row["status"] for row in rows] == ["ok", "too_similar", "too_similar"]
    assert {row["artifacts"]["similarity_measure"] for row in rows[1:]} == {"embedding"}
    assert pool.calls == 2
    # the first call embeds the candidate and the seed; each later one the candidate and new members only
    assert [len(texts) for texts in openai_server.embedded] == [2, 2, 1]
    with db.engine.connect() as conn:
        found = conn.execute(text("select kind, program_id, tokens_in, cost_usd, state from llm_calls "
                                  "where kind = 'embedding' order by id")).all()
    assert [program_id for _, program_id, _, _, _ in found] == [row["id"] for row in rows]
    for _, _, tokens_in, cost, state in found:
        assert state == "answered" and cost == pytest.approx(tokens_in * 100.0 / 1e6) and cost > 0

    earlier = len(openai_server.embedded)
    more = llm_config(openai_server.api_base, iterations=4, archive={"novelty_threshold": 0.9},
                      llm={"diff_ratio": 0.0, "embedding_model": embedding})
    db, _ = start(long_problem, pool, db_url, more, run_id)
    assert rows_of(db, run_id)[-1]["status"] == "too_similar"
    assert [len(texts) for texts in openai_server.embedded[earlier:]] == [3]  # resumed: the two members are embedded again
