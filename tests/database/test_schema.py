import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase, SchemaError
from evolve.database.connection import alembic_config, current_revision, head_revision, make_engine, normalise_url


def test_new_database_is_at_head(db):
    assert current_revision(db.engine) == head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert {"runs", "programs", "evaluation_stages", "llm_calls", "archive_state", "alembic_version"} <= tables


def test_opening_twice_keeps_data(db_url):
    run = ProgramDatabase(db_url).create_run("keep", "tsp", {}, 1)
    again = ProgramDatabase(db_url)
    assert again.open_run("keep").id == run.id
    assert current_revision(again.engine) == head_revision()


def test_database_at_first_revision_is_migrated_on_open(db_url):
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO runs (id, name, problem, status, config, seed, created_at, updated_at) "
                "VALUES (1, 'old', 'tsp', 'finished', '{}', 5, 1.0, 1.0)"
            )
        )
        conn.execute(
            text("INSERT INTO archive_state (run_id, sample_count, migrations, updated_at) VALUES (1, 7, 0, 1.0)")
        )
        conn.execute(
            text(
                "INSERT INTO programs (id, run_id, island, generation, code, code_hash, diff, origin, status, "
                "score, metrics, artifacts, features, timings, created_at) VALUES (1, 1, 0, 0, 'x = 1', "
                "'00', '', 'seed', 'ok', 2.0, '{}', '{}', '{\"complexity\": 4, \"edit_distance\": 0}', '{}', 1.0)"
            )
        )
    assert "ix_programs_parent" not in {i["name"] for i in inspect(engine).get_indexes("programs")}
    engine.dispose()

    db = ProgramDatabase(db_url)
    assert current_revision(db.engine) == head_revision() != "0001"
    assert "ix_programs_parent" in {i["name"] for i in inspect(db.engine).get_indexes("programs")}
    old = db.open_run("old")
    assert (old.status, old.seed, old.config) == ("finished", 5, {})
    state = db.archive(old.id, ArchiveSettings(num_islands=2), old.seed).state()
    assert state["sample_count"] == 7  # the cursor moved from archive_state onto the program rows
    assert [island["best"]["id"] for island in state["islands"]] == [1, 1]


def test_database_from_a_newer_version_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    ProgramDatabase(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="newer than this version"):
        ProgramDatabase(url)


def test_plain_postgresql_urls_use_psycopg3():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///runs/evolve.db") == "sqlite:///runs/evolve.db"


def test_sample_cursor_survives_a_downgrade(db, db_url, seeded_archive):
    archive = seeded_archive(db, num_islands=2)
    for _ in range(3):
        archive.sample()
    archive.record(NewProgram(archive.seed_program().id, 0, 1, "x = 2\n", "diff", "ok", score=3.0))
    archive.close()
    db.close()
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sample_count FROM archive_state")).scalar() == 3
    engine.dispose()
