"""A small finished run written through the database API, for the tests that browse one."""

from __future__ import annotations

from pathlib import Path

from evolve.database import ArchiveSettings, LLMCallRecord, NewProgram, ProgramDatabase
from evolve.database.call_journal import CallJournal


def write_browsing_run(folder: Path, name: str) -> tuple[str, dict[str, int]]:
    """A SQLite run named ``name`` on two islands: a seed, a priced LLM child that scores per
    instance, and a failed edit. Returns its database URL and the three programs' ids."""
    url = f"sqlite:///{folder / 'runs.db'}"
    db = ProgramDatabase(url)
    settings = ArchiveSettings(num_islands=2)
    run = db.create_run(name, "toy", {"archive": settings.model_dump()}, seed=0)
    archive = db.archive(run.id, settings, seed=0)
    seed = archive.record(NewProgram(None, 0, 0, "x = 0\n", "seed", "ok", score=0.0))
    call = CallJournal(db.engine, run.id).record(LLMCallRecord("m1", "prompt", "answer", 5, 7, 0.5))
    child = archive.record(NewProgram(seed.id, 0, 1, "x = 2\n", "diff", "ok", score=2.0, diff="-x = 0\n+x = 2",
                                      model="m1", llm_call_ids=[call], metrics={"instances": {"w1": 1.5, "w2": 2.5}}))
    failed = archive.record(NewProgram(child.id, 1, 2, "", "diff", "error", error="edit did not apply"))
    db.set_run_status(run.id, "finished")
    db.close()
    return url, {"seed": seed.id, "child": child.id, "failed": failed.id}
