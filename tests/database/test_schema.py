import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from database import ProgramDatabase, SchemaError
from database.connection import alembic_config, current_revision, head_revision, make_engine, normalise_url


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
                "INSERT INTO runs (name, problem, status, config, seed, created_at, updated_at) "
                "VALUES ('old', 'tsp', 'finished', '{}', 5, 1.0, 1.0)"
            )
        )
    assert "ix_programs_parent" not in {i["name"] for i in inspect(engine).get_indexes("programs")}
    engine.dispose()

    db = ProgramDatabase(db_url)
    assert current_revision(db.engine) == head_revision() != "0001"
    assert "ix_programs_parent" in {i["name"] for i in inspect(db.engine).get_indexes("programs")}
    old = db.open_run("old")
    assert (old.status, old.seed, old.config) == ("finished", 5, {})


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
