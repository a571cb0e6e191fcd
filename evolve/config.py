"""Run configuration: one YAML document, validated, with a fixed precedence.

defaults < the problem's problem.yaml ``evolve:`` section < ``--config FILE`` < CLI flags.
The merged result is stored with the run, so a resumed run uses exactly what it began with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evolve.database.settings import ArchiveSettings
from evolve.documents import describe_errors, read_mapping
from evolve.errors import InputError


class ConfigError(InputError, ValueError):
    """A configuration file or flag is wrong; the message says where and what is valid."""


class ModelSettings(BaseModel):
    """One model of the ensemble, as litellm names it (``openai/gpt-4o``, ``ollama/qwen``...)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    weight: float = Field(1.0, gt=0)
    temperature: float = 0.7
    max_tokens: int = 4096
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    api_base: str | None = None
    api_key_env: str | None = Field(None, description="environment variable holding the key")
    price_in_per_mtok: float | None = Field(None, description="USD per million prompt tokens (overrides litellm)")
    price_out_per_mtok: float | None = Field(None, description="USD per million completion tokens (overrides litellm)")


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[ModelSettings] = Field(default_factory=list, description="empty: the offline mutator")
    diff_ratio: float = Field(0.8, ge=0, le=1, description="share of diff edits; the rest are rewrites")
    timeout_s: float = Field(120.0, gt=0)
    retries: int = Field(4, ge=0)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    max_concurrency: int = Field(8, ge=1)
    repair_turns: int = Field(1, ge=0, le=3)
    bandit: bool = Field(False, description="UCB choice among models, rewarding improvement per dollar")
    system_message: str | None = Field(None, description="replaces the problem description in the system prompt")
    embedding_model: ModelSettings | None = Field(
        None, description="litellm embedding model for the novelty filter; default: local token sketches"
    )
    memory_every: int | None = Field(None, ge=1, description="candidates between run-memory notes; None: off")

    @field_validator("embedding_model", mode="before")
    @classmethod
    def _model_by_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class EvaluationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slots: int | None = Field(None, ge=1, description="parallel evaluations; default: max_in_flight")
    cascade_threshold: float | None = Field(None, description="quick-stage score needed for the full stage")
    test_top_k: int = Field(3, ge=0, description="best programs scored on the test split at the end")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    iterations: int = Field(100, ge=0, description="candidates to make (the seed not counted)")
    max_in_flight: int = Field(4, ge=1)
    seed: int = 0
    max_wall_s: float | None = Field(None, gt=0)
    budget_usd: float | None = Field(None, ge=0)
    target_score: float | None = None
    llm: LLMSettings = Field(default_factory=LLMSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)


def _describe(error: ValidationError, source: str) -> str:
    """Every problem of the document, on one line (``; `` between them)."""
    return f"invalid configuration in {source}: " + "; ".join(describe_errors(error, RunConfig))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge mappings recursively; lists and scalars in ``override`` replace."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    return read_mapping(path, ConfigError)


def validate(data: dict[str, Any], source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def build_config(
    problem_overrides: dict[str, Any] | None = None,
    config_file: Path | None = None,
    cli_overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """Merge the layers in precedence order, validating each so errors name their source."""
    merged: dict[str, Any] = {}
    layers: list[tuple[str, dict[str, Any]]] = []
    if problem_overrides:
        layers.append(("problem.yaml (evolve: section)", problem_overrides))
    if config_file is not None:
        layers.append((str(config_file), read_yaml(config_file)))
    if cli_overrides:
        layers.append(("command-line flags", cli_overrides))
    for source, layer in layers:
        validate(deep_merge(RunConfig().model_dump(), layer), source)
        merged = deep_merge(merged, layer)
    return validate(merged, "the merged configuration")
