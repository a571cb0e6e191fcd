import pytest

from evolve.database import (
    ArchiveError,
    ArchiveSettings,
    FeatureDimension,
    LLMCallRecord,
    NewProgram,
    NoParentAvailable,
    ProgramDatabase,
)
from evolve.database.call_journal import CallJournal
from evolve.database.queries import export_programs as export_rows
from evolve.database.queries import program_detail
from evolve.evaluators.result import StageRecord


def test_seed_is_placed_on_every_island(db, seeded_archive):
    archive = seeded_archive(db, num_islands=4)
    seed = archive.seed_program()
    assert seed is not None and seed.origin == "seed"
    for island in archive.state()["islands"]:
        assert [c["id"] for c in island["cells"]] == [seed.id]
    samples = [archive.sample() for _ in range(4)]
    assert [s.island for s in samples] == [0, 1, 2, 3]
    assert all(s.parent.id == seed.id and s.generation == 1 for s in samples)


def test_sample_without_an_ok_program_says_why(db):
    run = db.create_run(None, "toy", {}, 1)
    archive = db.archive(run.id, ArchiveSettings(num_islands=2), 1)
    with pytest.raises(NoParentAvailable, match="record an ok seed"):
        archive.sample()
    archive.record(NewProgram(None, 0, 0, "broken(", "seed", "error", error="SyntaxError"))
    with pytest.raises(NoParentAvailable):
        archive.sample()


def test_failed_programs_never_become_parents_but_give_feedback(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=2, exploit_ratio=0.0, explore_ratio=0.0)
    grow_archive(archive, 40, fail_every=3)
    parents = {archive.sample().parent.status for _ in range(50)}
    assert parents == {"ok"}
    for _ in range(2):
        sample = archive.sample()
        assert len(sample.failures) == 5
        assert all(f.startswith("error: ZeroDivisionError at step") for f in sample.failures)


def test_failure_reason_falls_back_to_artifacts(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    archive.record(
        NewProgram(seed.id, 0, 1, "x = 1\n", "diff", "invalid", artifacts={"feedback": "tour misses city 4"})
    )
    assert archive.sample().failures == ["invalid: tour misses city 4"]


def test_counts_exclude_seed_and_migrants(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=2, migration_interval=1, migration_rate=1.0)
    grow_archive(archive, 12, fail_every=3)
    counts = archive.counts()
    assert counts["total"] == 12
    assert counts["ok"] == 8 and counts["error"] == 4 and counts["failed"] == 4
    assert archive.state()["migrations"] == 6


def test_duplicates_ignore_whitespace_blank_lines_and_comments(db, seeded_archive):
    archive = seeded_archive(db)
    seed = archive.seed_program()
    variant = "\n# reworded comment\ndef solve(x):   \n\n    return x\n"
    assert archive.is_duplicate(variant)
    assert not archive.is_duplicate(seed.code.replace("return x", "return x + 1"))
    archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return -x\n", "diff", "timeout"))
    assert archive.is_duplicate("def solve(x):\n    return -x")


def test_best_and_record_views(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    child = archive.record(
        NewProgram(seed.id, 0, 1, "def solve(x):\n    return 2 * x\n", "rewrite", "ok", score=4.5,
                   metrics={"gap": 0.1}, artifacts={"log": "fine"}, diff="-x\n+2 * x", model="m1",
                   timings={"eval_s": 0.2})
    )
    assert (child.score, child.origin, child.model, child.parent_id) == (4.5, "rewrite", "m1", seed.id)
    assert child.feature_cell is not None and len(child.feature_cell) == 2
    best = archive.best()
    assert best.id == child.id and best.metrics == {"gap": 0.1} and best.artifacts == {"log": "fine"}
    archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return 3 * x\n", "diff", "ok", score=2.0))
    assert archive.best().id == child.id


def test_llm_calls_are_counted_and_linked(db, db_url, seeded_archive):
    archive = seeded_archive(db)
    seed = archive.seed_program()
    journal = CallJournal(archive.engine, archive.run.id)
    first = journal.record(LLMCallRecord("m1", "prompt", None, 100, 0, 0.25, 1.5, error="rate limited"))
    second = journal.record(LLMCallRecord("m1", "prompt", "resp", 120, 40, 0.5, 2.0))
    third = journal.record(LLMCallRecord("m2", "p", "r", 1, 1, 0.125), program_id=None)
    child = archive.record(
        NewProgram(seed.id, 0, 1, "def solve(x):\n    return 5\n", "diff", "ok", score=2.0, llm_call_ids=[second, third])
    )
    assert journal.spent_usd == pytest.approx(0.875)
    detail = program_detail(db, child.id)
    assert [c["id"] for c in detail["llm_calls"]] == [second, third]
    assert first not in [c["id"] for c in detail["llm_calls"]]
    assert CallJournal(ProgramDatabase(db_url).engine, archive.run.id).spent_usd == pytest.approx(0.875)


def test_stages_and_test_metrics_are_stored(db, seeded_archive):
    archive = seeded_archive(db)
    seed = archive.seed_program()
    child = archive.record(
        NewProgram(seed.id, 0, 1, "def solve(x):\n    return 7\n", "diff", "culled", error="below threshold",
                   stages=[StageRecord("quick", "culled", 0.5, 0.4)])
    )
    archive.set_test_metrics(seed.id, 0.9, {"gap": 0.2})
    stages = program_detail(db, child.id)["stages"]
    assert [(s["stage"], s["status"], s["wall_s"], s["cpu_s"]) for s in stages] == [("quick", "culled", 0.5, 0.4)]
    assert archive.seed_program().test_score == 0.9
    assert archive.seed_program().test_metrics == {"gap": 0.2}


def test_one_record_writes_the_program_its_stages_and_its_call_links_together(db, seeded_archive):
    archive = seeded_archive(db)
    seed = archive.seed_program()
    call = CallJournal(archive.engine, archive.run.id).record(LLMCallRecord("m1", "prompt", "resp", 10, 5, 0.01, 0.3))
    stages = [
        StageRecord("compile", "ok", 0.1, 0.05),
        StageRecord("quick", "ok", 0.5, 0.4),
        StageRecord("full", "error", 2.0, 1.5, "ValueError: bad bin"),
    ]
    child = archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return 8\n", "diff", "error",
                                      error="ValueError: bad bin", stages=stages, llm_call_ids=[call]))
    detail = program_detail(db, child.id)
    assert [(s["position"], s["stage"], s["status"], s["error"]) for s in detail["stages"]] == [
        (0, "compile", "ok", None), (1, "quick", "ok", None), (2, "full", "error", "ValueError: bad bin")]
    assert [c["id"] for c in detail["llm_calls"]] == [call]
    bare = archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return 9\n", "diff", "ok", score=1.5))
    assert program_detail(db, bare.id)["stages"] == [] and program_detail(db, bare.id)["llm_calls"] == []


def test_a_record_the_database_refuses_leaves_no_row_and_stops_the_archive(db, db_url, seeded_archive):
    archive = seeded_archive(db)
    seed = archive.seed_program()
    with db.engine.begin() as conn:  # the stage insert fails after the program's own insert
        if db_url.startswith("sqlite"):
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON evaluation_stages "
                                 "BEGIN SELECT RAISE(ABORT, 'stage refused'); END")
        else:
            conn.exec_driver_sql("CREATE FUNCTION refuse() RETURNS trigger AS $$ "
                                 "BEGIN RAISE EXCEPTION 'stage refused'; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON evaluation_stages "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse()")
    child = NewProgram(seed.id, 0, 1, "def solve(x):\n    return 6\n", "diff", "ok", score=3.0,
                       stages=[StageRecord("full", "ok", 1.0, 1.0)])
    with pytest.raises(Exception, match="stage refused"):
        archive.record(child)
    assert [row["id"] for row in export_rows(db, archive.run.id)] == [seed.id]
    with pytest.raises(ArchiveError, match="an earlier write failed"):
        archive.record(child)
    resumed = ProgramDatabase(db_url).archive(archive.run.id, archive.settings, archive.seed)
    assert resumed.counts()["total"] == 0 and resumed.best().id == seed.id


def test_nul_characters_from_a_candidate_or_a_model_are_stored_as_replacement_characters(db, db_url, seeded_archive):
    archive = seeded_archive(db)
    seed = archive.seed_program()
    journal = CallJournal(archive.engine, archive.run.id)
    call = journal.record(LLMCallRecord("m1", "prompt\x00", "reply with \x00", 1, 1, 0.0, 0.1))
    failed = archive.record(NewProgram(
        seed.id, 0, 1, "def solve(x):\n    return '\x00'\n", "diff", "error", error="ValueError: \x00 in output",
        metrics={"note\x00": "a\x00b"}, artifacts={"stderr": "\x00\x00tail"}, llm_call_ids=[call],
        stages=[StageRecord("full", "error", 0.1, 0.1, "bad \x00")],
    ))
    archive.set_test_metrics(seed.id, 1.0, {"log": "x\x00"})
    detail = program_detail(db, failed.id)
    assert detail["code"] == "def solve(x):\n    return '\ufffd'\n" and failed.code == detail["code"]
    assert detail["error"] == "ValueError: \ufffd in output"
    assert detail["metrics"] == {"note\ufffd": "a\ufffdb"} and detail["artifacts"] == {"stderr": "\ufffd\ufffdtail"}
    assert detail["stages"][0]["error"] == "bad \ufffd"
    assert detail["llm_calls"][0]["response"] == "reply with \ufffd"
    assert archive.seed_program().test_metrics == {"log": "x\ufffd"}
    archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return 4\n", "diff", "ok", score=2.0))
    resumed = ProgramDatabase(db_url).archive(archive.run.id, archive.settings, archive.seed)
    assert resumed.counts()["total"] == 2 and resumed.state() == archive.state()


def test_unknown_status_origin_and_island_are_refused(db, seeded_archive):
    archive = seeded_archive(db, num_islands=2)
    with pytest.raises(ArchiveError, match="unknown origin 'mutant'; use one of seed, diff"):
        archive.record(NewProgram(None, 0, 1, "x", "mutant", "ok", score=1.0))
    with pytest.raises(ArchiveError, match="unknown origin 'import'"):
        archive.record(NewProgram(None, 0, 1, "x", "import", "ok", score=1.0))
    with pytest.raises(ArchiveError, match="unknown status 'passed'; use one of ok, invalid"):
        archive.record(NewProgram(None, 0, 1, "x", "diff", "passed", score=1.0))
    assert archive.counts()["total"] == 0
    with pytest.raises(ArchiveError, match="island 5 does not exist"):
        archive.record(NewProgram(None, 5, 1, "x", "diff", "ok", score=1.0))


def test_inspirations_are_top_and_diverse_elites_of_the_island(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=1, num_inspirations=3, num_top_programs=1)
    grow_archive(archive, 30)
    island = archive.state()["islands"][0]
    elites = {c["id"] for c in island["cells"]}
    for _ in range(10):
        sample = archive.sample()
        ids = [p.id for p in sample.inspirations]
        assert sample.parent.id not in ids
        assert len(ids) == len(set(ids)) == 3
        assert set(ids) <= elites
        top = island["best"]["id"]
        assert ids[0] == top or sample.parent.id == top


def test_resuming_with_other_features_is_explained(db, db_url, seeded_archive):
    archive = seeded_archive(db)
    other = ArchiveSettings(features=[FeatureDimension(name="gap")])
    with pytest.raises(ArchiveError, match="resume the run with the feature dimensions it was started with"):
        ProgramDatabase(db_url).archive(archive.run.id, other, archive.seed)


def test_precomputed_features_are_used_as_given(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    code = "def solve(x):\n    return x * x\n"
    given = archive.record(NewProgram(seed.id, 0, 1, code, "diff", "ok", score=2.0,
                                      features={"complexity": 500.0}))
    rows = {r["id"]: r for r in export_rows(db, archive.run.id)}
    assert rows[given.id]["features"] == {"complexity": 500.0, "edit_distance": 2.0}  # comment and return lines


def test_a_candidate_whose_feature_metric_is_not_finite_is_recorded_invalid_and_the_run_goes_on(db):
    run = db.create_run(None, "toy", {}, 0)
    archive = db.archive(run.id, ArchiveSettings(num_islands=1, features=[FeatureDimension(name="gap")]), 0)
    seed = archive.record(NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0, metrics={"gap": 0.5}))
    bad = archive.record(NewProgram(seed.id, 0, 1, "x = 2\n", "diff", "ok", score=9.0,
                                    metrics={"gap": None}))  # the sandbox's NaN
    given = archive.record(NewProgram(seed.id, 0, 1, "x = 3\n", "diff", "ok", score=8.0, metrics={"gap": 0.2},
                                      features={"gap": float("inf")}))
    good = archive.record(NewProgram(seed.id, 0, 1, "x = 4\n", "diff", "ok", score=2.0, metrics={"gap": 0.7}))
    assert bad.status == given.status == "invalid" and bad.feature_cell is None
    assert "feature 'gap' must be a finite number, got None" in bad.error and "got inf" in given.error
    rows = {r["id"]: r for r in export_rows(db, run.id)}
    assert rows[bad.id]["status"] == "invalid" and rows[bad.id]["score"] is None and rows[bad.id]["features"] is None
    assert rows[given.id]["metrics"] == {"gap": 0.2} and rows[given.id]["features"] is None
    assert archive.best().id == good.id and "invalid: feature 'gap'" in archive.sample().failures[0]
