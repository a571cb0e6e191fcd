"""The SQL schema of the program database.

Timestamps are Unix seconds (floats) so that both back ends order and compare them the
same way and the driver never pays for timezone conversions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
# Nullable JSON columns: Python None is SQL NULL, not the JSON document ``null``.
NullableJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    problem: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    seed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class Program(Base):
    """Every attempt, failed ones included (their ``error`` is the evaluator's feedback)."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    island: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64))
    diff: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    features: Mapped[dict[str, float] | None] = mapped_column(NullableJSON)
    # the evaluator's score of each instance (or objective), higher better; NULL without them
    instances: Mapped[dict[str, float] | None] = mapped_column(NullableJSON)
    feature_cell: Mapped[list[int] | None] = mapped_column(NullableJSON)
    timings: Mapped[dict[str, float]] = mapped_column(JSONType)
    test_score: Mapped[float | None] = mapped_column(Float)
    test_metrics: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[float] = mapped_column(Float)
    # samples the archive had drawn when this row was written: the resume cursor
    sample_count: Mapped[int | None] = mapped_column(Integer)
    # unique per write: a write retried after a lost connection finds the row it made
    write_key: Mapped[str | None] = mapped_column(String(32))


class EvaluationStage(Base):
    __tablename__ = "evaluation_stages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    wall_s: Mapped[float] = mapped_column(Float)
    cpu_s: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class LLMCall(Base):
    """One request to a model; ``program_id`` stays empty when no program came of it."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    model: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    parsed_edit: Mapped[str | None] = mapped_column(Text)
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    latency_s: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    # pending (written before the request goes out), answered, failed, or lost (the driver
    # died with it in flight; charged at max_cost_usd, since the provider may have billed it)
    state: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[list[dict[str, Any]] | None] = mapped_column(NullableJSON)
    max_cost_usd: Mapped[float | None] = mapped_column(Float)
    anomaly: Mapped[str | None] = mapped_column(Text)
    write_key: Mapped[str | None] = mapped_column(String(32))


class ArchiveState(Base):
    """What the program rows cannot tell: the model bandit's learnt state."""

    __tablename__ = "archive_state"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    bandit_state: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    updated_at: Mapped[float] = mapped_column(Float)


class RunMemory(Base):
    """A note a model wrote about what the run has learnt; the latest reaches later prompts."""

    __tablename__ = "run_memories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    candidates: Mapped[int] = mapped_column(Integer)  # candidates recorded when it was written
    text: Mapped[str] = mapped_column(Text)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("llm_calls.id"))
    created_at: Mapped[float] = mapped_column(Float)


class RunLease(Base):
    """The driver that holds a run: at most one row per run, refreshed by its heartbeat."""

    __tablename__ = "run_leases"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    stop_requested_by: Mapped[str | None] = mapped_column(String(300))
    ray_session: Mapped[str | None] = mapped_column(Text)


Index("ix_programs_run_id_id", Program.run_id, Program.id)
Index("ix_programs_run_hash", Program.run_id, Program.code_hash)
Index("ix_programs_parent", Program.parent_id)
Index("ix_programs_run_score", Program.run_id, Program.score)
Index("ix_llm_calls_run", LLMCall.run_id)
Index("ix_llm_calls_program", LLMCall.program_id)
Index("ix_stages_program", EvaluationStage.program_id)
Index("ux_programs_write_key", Program.write_key, unique=True)
Index("ux_llm_calls_write_key", LLMCall.write_key, unique=True)
Index("ix_run_memories_run", RunMemory.run_id, RunMemory.id)
