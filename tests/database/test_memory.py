"""The run memory's rows and the evidence its notes are written from."""

from __future__ import annotations

from evolve.database import NewProgram
from evolve.database.memory import latest_memory, memory_evidence, memory_history, store_memory

from .conftest import SEED_CODE, make_archive


def test_notes_are_kept_as_a_history_and_the_latest_is_read_back(db):
    archive = make_archive(db)
    run_id = archive.run.id
    assert latest_memory(db.engine, run_id) is None
    store_memory(db.engine, run_id, 10, "first note", None)
    second = store_memory(db.engine, run_id, 20, "second note", None)
    other = make_archive(db)
    store_memory(db.engine, other.run.id, 5, "another run's note", None)
    latest = latest_memory(db.engine, run_id)
    assert (latest.id, latest.candidates, latest.text) == (second.id, 20, "second note")
    assert [n.text for n in memory_history(db.engine, run_id)] == ["first note", "second note"]


def test_evidence_ranks_score_gains_and_lists_failures_and_changes_that_did_not_help(db):
    archive = make_archive(db)
    seed = archive.seed_program()
    rows = [("+big", "ok", 4.0), ("+small", "ok", 1.5), ("flat", "ok", 1.0), ("worse", "ok", 0.5),
            ("boom", "error", None), ("boom", "error", None), ("bad", "invalid", None)]
    ids = {}
    for step, (diff, status, score) in enumerate(rows):
        view = archive.record(NewProgram(seed.id, 0, 1, SEED_CODE + f"# {step}\n", "diff", status, score=score,
                                         diff=diff, error=None if status == "ok" else f"{diff} happened"))
        ids[diff] = view.id
    evidence = memory_evidence(db.engine, archive.run.id)
    assert [(g["diff"], g["delta"]) for g in evidence["gains"]] == [("+big", 3.0), ("+small", 0.5)]
    assert [g["diff"] for g in evidence["no_gain"]] == ["worse", "flat"]  # newest first
    assert [(f["status"], f["count"]) for f in evidence["failures"]] == [("error", 2), ("invalid", 1)]
