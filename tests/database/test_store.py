import pytest

from evolve.database import DatabaseError, ProgramDatabase, RunNotFound


def test_create_run_names_it_after_problem_and_id(db):
    run = db.create_run(None, "tsp", {"islands": 4}, seed=11)
    assert run.name == f"tsp-{run.id}"
    assert (run.problem, run.status, run.config, run.seed) == ("tsp", "running", {"islands": 4}, 11)
    assert run.created_at == run.updated_at > 0


def test_open_run_by_id_name_and_latest(db):
    first = db.create_run("alpha", "tsp", {}, 1)
    second = db.create_run("beta", "packing", {}, 2)
    assert db.open_run(str(first.id)).name == "alpha"
    assert db.open_run(first.id).name == "alpha"
    assert db.open_run("beta").id == second.id
    assert db.open_run("latest").id == second.id


def test_unknown_run_lists_what_is_there(db):
    db.create_run("alpha", "tsp", {}, 1)
    with pytest.raises(RunNotFound) as caught:
        db.open_run("gamma")
    assert "no run 'gamma'" in str(caught.value)
    assert "runs there: alpha" in str(caught.value)


def test_latest_of_an_empty_catalogue_is_not_found(db):
    with pytest.raises(RunNotFound, match="runs there: none"):
        db.open_run("latest")


def test_duplicate_run_name_is_refused(db):
    db.create_run("alpha", "tsp", {}, 1)
    with pytest.raises(DatabaseError, match="already exists"):
        db.create_run("alpha", "tsp", {}, 1)


def test_run_status_changes_and_is_validated(db):
    run = db.create_run(None, "tsp", {}, 1)
    db.set_run_status(run.id, "interrupted")
    reopened = db.open_run(run.name)
    assert reopened.status == "interrupted"
    assert reopened.updated_at >= run.updated_at
    with pytest.raises(DatabaseError, match="unknown run status"):
        db.set_run_status(run.id, "paused")
    with pytest.raises(RunNotFound):
        db.set_run_status(run.id + 100, "stopped")


def test_bandit_state_survives_reopening(db, db_url):
    run = db.create_run(None, "tsp", {}, 1)
    assert db.load_bandit_state(run.id) is None
    db.store_bandit_state(run.id, {"gpt": {"pulls": 3, "reward": 1.5}})
    assert ProgramDatabase(db_url).load_bandit_state(run.id) == {"gpt": {"pulls": 3, "reward": 1.5}}


def test_sqlite_catalogue_creates_its_folder_and_uses_wal(tmp_path):
    db = ProgramDatabase(f"sqlite:///{tmp_path}/deep/runs/evolve.db")
    assert (tmp_path / "deep" / "runs" / "evolve.db").exists()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_flush_each_commit_waits_for_the_disk(db_url):
    relaxed, flushed = ProgramDatabase(db_url), ProgramDatabase(db_url, flush_each_commit=True)
    query = "PRAGMA synchronous" if db_url.startswith("sqlite") else "SHOW synchronous_commit"
    with relaxed.engine.connect() as a, flushed.engine.connect() as b:
        settings = (a.exec_driver_sql(query).scalar(), b.exec_driver_sql(query).scalar())
    assert settings in {(1, 2), ("off", "on")}
