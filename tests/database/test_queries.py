import pytest

from evolve.database import ArchiveSettings, LLMCallRecord, NewProgram, ProgramNotFound, RunNotFound, queries
from evolve.database.call_journal import CallJournal


def build_chain(archive):
    """seed -> a (2.0) -> b (3.5) -> c (failed), and seed -> d (1.5)."""
    seed = archive.seed_program()
    a = archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return x + 1\n", "diff", "ok",
                                  score=2.0, diff="-    return x\n+    return x + 1"))
    b = archive.record(NewProgram(a.id, 0, 2, "def solve(x):\n    return x + 2\n", "diff", "ok",
                                  score=3.5, diff="-1\n+2", model="m1"))
    c = archive.record(NewProgram(b.id, 0, 3, "def solve(x):\n    return x / 0\n", "diff", "error",
                                  error="ZeroDivisionError: division by zero"))
    d = archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return x * 1\n", "rewrite", "ok",
                                  score=1.5))
    return seed, a, b, c, d


def test_ancestors_give_path_with_score_deltas_and_diffs(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed, a, b, c, _ = build_chain(archive)
    path = queries.ancestors(db, c.id)
    assert [step["id"] for step in path] == [seed.id, a.id, b.id, c.id]
    assert [step["score_delta"] for step in path] == [None, 1.0, 1.5, None]
    assert path[2]["diff"] == "-1\n+2" and path[2]["model"] == "m1"
    assert path[3]["error"].startswith("ZeroDivisionError")


def test_descendants_with_depth(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed, a, b, c, d = build_chain(archive)
    found = {row["id"]: row["depth"] for row in queries.descendants(db, seed.id)}
    assert found == {a.id: 1, b.id: 2, c.id: 3, d.id: 1}
    assert queries.descendants(db, c.id) == []
    with pytest.raises(ProgramNotFound):
        queries.descendants(db, 10_000)
    with pytest.raises(ProgramNotFound):
        queries.ancestors(db, 10_000)


def test_list_runs_and_summary(db, seeded_archive):
    archive = seeded_archive(db, num_islands=2)
    other = seeded_archive(db, num_islands=1)
    build_chain(archive)
    journal = CallJournal(archive.engine, archive.run.id)
    journal.record(LLMCallRecord("m1", "p", "r", tokens_in=100, tokens_out=20, cost_usd=0.5))
    journal.record(LLMCallRecord("m2", "p", None, tokens_in=10, cost_usd=0.25, error="timeout"))
    archive.set_test_metrics(archive.best().id, 3.0, {})
    runs = queries.list_runs(db)
    assert [r["id"] for r in runs] == [other.run.id, archive.run.id]
    row = runs[1]
    assert (row["candidates"], row["failed"], row["best_score"], row["best_test_score"]) == (4, 1, 3.5, 3.0)
    assert row["best_id"] == archive.best().id and row["max_test_score"] == 3.0
    assert row["cost_usd"] == pytest.approx(0.75)
    assert runs[0]["candidates"] == 0 and runs[0]["cost_usd"] == 0.0

    summary = queries.run_summary(db, archive.run)
    assert summary["counts"] == {"ok": 3, "error": 1, "total": 4, "failed": 1}
    assert summary["failure_causes"] == [
        {"status": "error", "error": "ZeroDivisionError: division by zero", "count": 1,
         "example_id": summary["failure_causes"][0]["example_id"]}
    ]
    assert [(i["island"], i["candidates"], i["failed"]) for i in summary["islands"]] == [(0, 4, 1)]
    assert [(a["origin"], a["score"]) for a in queries.run_attempts(db, archive.run.id)] == [
        ("seed", 1.0), ("diff", 2.0), ("diff", 3.5), ("diff", None), ("rewrite", 1.5)
    ]
    assert [(m["model"], m["calls"], m["errors"], m["tokens_in"]) for m in summary["models"]] == [
        ("m1", 1, 0, 100), ("m2", 1, 1, 10)
    ]
    assert queries.run_summary(db, archive.run.id) == summary
    with pytest.raises(RunNotFound):
        queries.run_summary(db, 999)


def test_top_programs_and_export(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed, a, b, c, d = build_chain(archive)
    assert [p["id"] for p in queries.top_programs(db, archive.run.id, limit=3)] == [b.id, a.id, d.id]
    archive.set_test_metrics(d.id, 9.0, {"gap": 0.1})
    assert [p["id"] for p in queries.top_programs(db, archive.run.id, by="test_score")] == [d.id]
    exported = list(queries.export_programs(db, archive.run.id, batch=2))
    assert [p["id"] for p in exported] == [seed.id, a.id, b.id, c.id, d.id]
    assert exported[3]["status"] == "error" and exported[3]["code"].endswith("x / 0\n")


def test_program_detail_and_missing_program(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    detail = queries.program_detail(db, seed.id)
    assert detail["origin"] == "seed" and detail["stages"] == [] and detail["llm_calls"] == []
    with pytest.raises(ProgramNotFound, match="no program with id 4242"):
        queries.program_detail(db, 4242)


def test_lineage_crosses_islands_through_migrants(db, seeded_archive, grow_archive):
    archive = seeded_archive(db, num_islands=2, migration_interval=1, migration_rate=1.0)
    grow_archive(archive, 40)
    rows = {r["id"]: r for r in queries.export_programs(db, archive.run.id)}
    via_migrant = [r for r in rows.values() if rows.get(r["parent_id"], {}).get("origin") == "migrant"]
    assert via_migrant, "some child was bred from a migrant"
    path = queries.ancestors(db, via_migrant[0]["id"])
    origins = [step["origin"] for step in path]
    assert origins[0] == "seed" and "migrant" in origins
    hop = origins.index("migrant")
    assert path[hop]["island"] != path[hop - 1]["island"]
    assert path[hop]["score_delta"] == 0.0


def test_run_attempts_lists_every_attempt_without_code(db):
    from evolve.database.queries import export_programs, run_attempts

    run = db.create_run("attempts", "p", {}, 0)
    archive = db.archive(run.id, ArchiveSettings(num_islands=2), 0)
    archive.record(NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0))
    archive.record(NewProgram(1, 1, 1, "x = 2\n", "diff", "error", error="boom"))
    rows = run_attempts(db, run.id)
    assert [r["status"] for r in rows] == [r["status"] for r in export_programs(db, run.id)]
    assert set(rows[0]) == {"id", "parent_id", "island", "origin", "status", "score", "created_at"}
    assert [r["id"] for r in run_attempts(db, run.id, origin="seed")] == [rows[0]["id"]]


def test_equal_scores_name_the_archives_best_everywhere(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    first = archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return 1\n", "diff", "ok", score=5.0))
    second = archive.record(NewProgram(seed.id, 0, 1, "def solve(x):\n    return 2\n", "diff", "ok", score=5.0))
    assert archive.best().id == second.id != first.id
    assert queries.top_programs(db, archive.run.id, limit=1)[0]["id"] == second.id
    assert next(r for r in queries.list_runs(db) if r["id"] == archive.run.id)["best_id"] == second.id


def test_failure_causes_group_by_the_line_that_names_the_error(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    for i in range(3):
        trace = f"Traceback (most recent call last):\n  File \"p.py\", line {i}\nZeroDivisionError: division by zero"
        archive.record(NewProgram(seed.id, 0, 1, f"x = {i}\n", "diff", "error", error=trace))
    archive.record(NewProgram(seed.id, 0, 1, "x = 9\n", "diff", "timeout", error="took too long\nafter 10 s"))
    causes = queries.failure_causes(db, archive.run.id)
    assert [(c["status"], c["error"], c["count"]) for c in causes] == [
        ("error", "ZeroDivisionError: division by zero", 3), ("timeout", "took too long", 1)
    ]


def test_program_table_filters_sorts_and_counts(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed, a, b, c, d = build_chain(archive)
    run_id = archive.run.id
    rows, total = queries.program_table(db, run_id, queries.ProgramFilter(), "score", descending=True)
    assert total == 5 and [r["id"] for r in rows] == [b.id, a.id, d.id, seed.id, c.id]  # no score last
    rows, total = queries.program_table(db, run_id, queries.ProgramFilter(statuses=("error",)))
    assert (total, rows[0]["id"]) == (1, c.id)
    rows, _ = queries.program_table(db, run_id, queries.ProgramFilter(min_score=1.5, max_score=2.0, origin="diff"))
    assert [r["id"] for r in rows] == [a.id]
    rows, _ = queries.program_table(db, run_id, queries.ProgramFilter(error="zerodivision"))
    assert [r["id"] for r in rows] == [c.id]
    rows, total = queries.program_table(db, run_id, queries.ProgramFilter(), "id", offset=2, limit=2)
    assert total == 5 and [r["id"] for r in rows] == [b.id, c.id]
    with pytest.raises(ValueError, match="cannot sort programs by 'code'"):
        queries.program_table(db, run_id, queries.ProgramFilter(), "code")


def test_archive_snapshot_replays_the_runs_own_settings(db):
    settings = ArchiveSettings(num_islands=3)
    run = db.create_run("snap", "p", {"archive": settings.model_dump()}, 0)
    archive = db.archive(run.id, settings, 0)
    archive.record(NewProgram(None, 0, 0, "x = 1\n", "seed", "ok", score=1.0))
    archive.record(NewProgram(1, 1, 1, "x = 1\ny = 2\n", "diff", "ok", score=2.0))
    snapshot = queries.archive_snapshot(db, run.id)
    assert snapshot["islands"] == archive.state()["islands"] and len(snapshot["islands"]) == 3
    assert snapshot["best_id"] == archive.best().id


def test_a_duplicate_names_the_program_it_copies(db, seeded_archive):
    archive = seeded_archive(db, num_islands=1)
    seed = archive.seed_program()
    dup = archive.record(NewProgram(seed.id, 0, 1, seed.code, "diff", "duplicate", error="same code"))
    assert queries.program_detail(db, dup.id)["duplicate_of"] == seed.id
    assert queries.program_detail(db, seed.id)["duplicate_of"] is None
