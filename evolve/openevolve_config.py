"""OpenEvolve's config.yaml mapped onto a problem.yaml, with every key we cannot honour named.

A user moving a problem over must know exactly what behaves differently, so each key is
either mapped, harmless at the value given, or reported with the reason it is not honoured.
Settings that decide how a program is scored (cascade, thresholds, timeout) fall back to
OpenEvolve's own defaults, so an imported evaluator scores as it did there; search settings
absent from the file keep evolve's defaults.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from evolve.evaluators.problem import ProblemError

OPENEVOLVE_TIMEOUT_S = 300.0
OPENEVOLVE_CASCADE_THRESHOLDS = (0.5, 0.75, 0.9)
OPENEVOLVE_FEATURES = ("complexity", "diversity")
TEMPLATE_KEYS = {"system_message", "evaluator_system_message"}
GENERIC_DESCRIPTION = (
    "A problem imported from OpenEvolve's format. Improve the program between the "
    "EVOLVE-BLOCK markers so that the evaluator's combined_score rises."
)
ENV_REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
FEATURE_NAMES = {"complexity": "length", "diversity": "edit_distance", "score": "combined_score"}

# Keys honoured as they stand when they hold one of these values (what evolve does anyway).
HARMLESS_AT: dict[str, tuple[Any, ...]] = {
    "evaluator.use_llm_feedback": (False,),
    "evaluator.enable_artifacts": (True,),
    "evaluator.distributed": (False,),
    "prompt.include_artifacts": (True,),
    "prompt.use_meta_prompting": (False,),
    "early_stopping_patience": (None,),
    "language": (None, "python"),
    "file_suffix": (None, ".py"),
}

REASONS = {
    "checkpoint_interval": "evolve stores every program as it is evaluated; `evolve resume` needs no checkpoints",
    "log_level": "evolve's output is its live display and the database",
    "log_dir": "evolve's output is its live display and the database",
    "max_code_length": "evolve sets no length limit on programs",
    "early_stopping_patience": "evolve stops on --target, --max-wall or --budget, not on a plateau",
    "llm.top_p": "evolve's model settings have no top_p",
    "llm.random_seed": "evolve sends no sampling seed to models (its own --seed fixes selection)",
    "llm.evaluator_models": "only used for LLM feedback on programs, which evolve does not give",
    "prompt.evaluator_system_message": "only used for LLM feedback on programs, which evolve does not give",
    "prompt.template_dir": "evolve renders its own prompt templates",
    "prompt.use_template_stochasticity": "evolve's prompts have no random template variations",
    "prompt.include_artifacts": "evolve always shows the parent's artifacts to the model",
    "database.population_size": "evolve keeps every program; its archive is the MAP-Elites grid of each island",
    "database.archive_size": "evolve keeps every program; its archive is the MAP-Elites grid of each island",
    "database.elite_selection_ratio": "evolve picks parents by exploit/explore/random ratios only",
    "database.db_path": "evolve stores programs in the database given by --db",
    "database.in_memory": "evolve stores programs in the database given by --db",
    "evaluator.max_retries": "evolve does not re-run a failed evaluation; the failure is stored with its artifacts",
    "evaluator.use_llm_feedback": "evolve does not ask a model to grade programs",
    "evaluator.enable_artifacts": "evolve always keeps a program's artifacts",
    "evaluator.distributed": "evolve's evaluations run on a Ray cluster given by --ray-address",
    "language": "honoured when the initial program is written in it: evolve reads the language off its file name",
    "file_suffix": "honoured when the initial program has it: evolve names the program as the initial one is named",
}
DEFAULT_REASON = "evolve has no equivalent setting"


class OpenEvolveFormatError(ProblemError):
    """A directory or config.yaml does not have OpenEvolve's shape; the message says what to fix."""


@dataclass
class MappedConfig:
    """The problem.yaml fields made from an OpenEvolve config, and what could not be kept."""

    description: str
    evolve: dict[str, Any]
    limits: dict[str, Any]
    features: list[dict[str, Any]]
    cascade: bool
    cascade_threshold: float | None
    stage3_threshold: float | None
    feature_dimensions: list[str] = field(default_factory=list)  # OpenEvolve's names, left out of its fitness
    initial_program: str | None = None  # evolve's own key: which file of the directory is the program
    language: str | None = None
    file_suffix: str | None = None
    unsupported: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Reader:
    """Walks one config section, remembering which keys were used so the rest can be reported."""

    def __init__(self, data: dict[str, Any], prefix: str, out: MappedConfig) -> None:
        self.data, self.prefix, self.out, self.used = data, prefix, out, set()

    def take(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def report_rest(self) -> None:
        for key in self.data:
            if key in self.used:
                continue
            path = f"{self.prefix}{key}"
            if self.data[key] in HARMLESS_AT.get(path, ()):
                continue
            self.out.unsupported[path] = REASONS.get(path, DEFAULT_REASON)


def _section(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise OpenEvolveFormatError(f"{source}: '{key}' must be a mapping, not {type(value).__name__}")
    return value


def _api_key(value: Any, where: str, out: MappedConfig) -> str | None:
    """A ${VAR} reference becomes api_key_env; a literal key is never written to the problem folder."""
    if value is None:
        return None
    match = ENV_REFERENCE.match(str(value))
    if match:
        return match.group(1)
    out.unsupported[where] = ("a literal API key is not copied into the problem folder; set the key in an environment "
                              "variable and write api_key: ${VAR}")
    return None


def _model(raw: dict[str, Any], shared: dict[str, Any], where: str, out: MappedConfig) -> dict[str, Any]:
    reader = _Reader(raw, f"{where}.", out)
    name = str(reader.take("name"))
    # OpenEvolve always speaks the OpenAI protocol to api_base; litellm's openai/ prefix does the same.
    model: dict[str, Any] = {"name": name if name.startswith("openai/") else f"openai/{name}",
                             "weight": float(reader.take("weight", 1.0))}
    for ours, theirs in (("temperature", "temperature"), ("max_tokens", "max_tokens"),
                         ("api_base", "api_base"), ("reasoning_effort", "reasoning_effort")):
        value = reader.take(theirs)
        value = shared.get(theirs) if value is None else value
        if value is not None:
            model[ours] = value
    key_where = f"{where}.api_key" if reader.has("api_key") else "llm.api_key"
    key_env = _api_key(reader.take("api_key") or shared.get("api_key"), key_where, out)
    if key_env:
        model["api_key_env"] = key_env
    reader.take("system_message")  # OpenEvolve's prompt system message overrides it too
    for key in ("timeout", "retries", "retry_delay", "random_seed"):
        value = reader.take(key)
        if value is not None and value != shared.get(key):
            out.unsupported[f"{where}.{key}"] = (REASONS["llm.random_seed"] if key == "random_seed"
                                                 else f"evolve sets {key} once for all models (llm.{key})")
    if reader.take("top_p") is not None:
        out.unsupported[f"{where}.top_p"] = REASONS["llm.top_p"]
    reader.report_rest()
    return model


SHARED_MODEL_KEYS = ("temperature", "max_tokens", "api_base", "api_key", "reasoning_effort",
                     "timeout", "retries", "retry_delay", "random_seed")


def _models(reader: _Reader, out: MappedConfig) -> list[dict[str, Any]]:
    shared = {key: reader.take(key) for key in SHARED_MODEL_KEYS}
    raw_models = list(reader.take("models") or [])
    for role, default_weight in (("primary", 1.0), ("secondary", 0.2)):
        name, weight = reader.take(f"{role}_model"), reader.take(f"{role}_model_weight")
        if name and (weight is None or weight > 0):
            raw_models.append({"name": name, "weight": default_weight if weight is None else weight})
    for index, raw in enumerate(raw_models):
        if not isinstance(raw, dict) or not raw.get("name"):
            raise OpenEvolveFormatError(f"llm.models[{index}] must be a mapping with a 'name' (got {raw!r})")
    models = [_model(dict(m), shared, f"llm.models[{i}]", out) for i, m in enumerate(raw_models)]
    if not models:
        _api_key(shared["api_key"], "llm.api_key", out)
    return models


def _llm(data: dict[str, Any], prompt: dict[str, Any], config: dict[str, Any], out: MappedConfig) -> dict[str, Any]:
    reader = _Reader(data, "llm.", out)
    settings: dict[str, Any] = {}
    models = _models(reader, out)
    if models:
        settings["models"] = models
    for ours, theirs in (("timeout_s", "timeout"), ("retries", "retries"), ("backoff_base_s", "retry_delay")):
        if data.get(theirs) is not None:
            settings[ours] = data[theirs]
    if data.get("random_seed") is not None:
        out.unsupported["llm.random_seed"] = REASONS["llm.random_seed"]
    if reader.take("top_p") is not None:
        out.unsupported["llm.top_p"] = REASONS["llm.top_p"]
    message = reader.take("system_message")
    if isinstance(prompt.get("system_message"), str) and prompt["system_message"] not in TEMPLATE_KEYS:
        message = prompt["system_message"]
    if isinstance(message, str) and message not in TEMPLATE_KEYS and message.strip():
        settings["system_message"] = message
        out.description = message
    if "diff_based_evolution" in config:
        settings["diff_ratio"] = 1.0 if config["diff_based_evolution"] else 0.0
    if not _feedback_wanted(config):
        reader.take("evaluator_models")
    reader.report_rest()
    return settings


def _feedback_wanted(config: dict[str, Any]) -> bool:
    return bool((config.get("evaluator") or {}).get("use_llm_feedback"))


def _prompt(data: dict[str, Any], config: dict[str, Any], out: MappedConfig) -> dict[str, Any]:
    reader = _Reader(data, "prompt.", out)
    reader.take("system_message")  # mapped with the llm section
    if not _feedback_wanted(config):
        reader.take("evaluator_system_message")
    archive: dict[str, Any] = {}
    top, diverse = reader.take("num_top_programs"), reader.take("num_diverse_programs")
    if top is not None:
        archive["num_top_programs"] = int(top)
    if top is not None or diverse is not None:
        archive["num_inspirations"] = int(top if top is not None else 3) + int(diverse if diverse is not None else 2)
    reader.report_rest()
    return archive


def _features(dimensions: list[Any], bins: Any, out: MappedConfig) -> list[dict[str, Any]]:
    features = []
    for name in dimensions:
        ours = FEATURE_NAMES.get(str(name), str(name))
        count = bins.get(name, 10) if isinstance(bins, dict) else (bins or 10)
        features.append({"name": ours, "bins": int(count)})
        if ours != name:
            out.notes.append(f"feature dimension '{name}' is evolve's '{ours}'")
    return features


def _database(data: dict[str, Any], out: MappedConfig) -> tuple[dict[str, Any], int | None]:
    reader = _Reader(data, "database.", out)
    archive: dict[str, Any] = {}
    for ours, theirs in (("num_islands", "num_islands"), ("migration_interval", "migration_interval"),
                         ("migration_rate", "migration_rate"), ("exploit_ratio", "exploitation_ratio"),
                         ("explore_ratio", "exploration_ratio")):
        if reader.has(theirs):
            archive[ours] = reader.take(theirs)
    if reader.has("feature_dimensions") or reader.has("feature_bins"):
        dimensions = list(reader.take("feature_dimensions") or OPENEVOLVE_FEATURES)
        out.feature_dimensions = [str(name) for name in dimensions]
        out.features = _features(dimensions, reader.take("feature_bins", 10), out)
        archive["features"] = [dict(f) for f in out.features]
    seed = reader.take("random_seed")
    reader.report_rest()
    return archive, seed


def _evaluator(data: dict[str, Any], out: MappedConfig) -> dict[str, Any]:
    reader = _Reader(data, "evaluator.", out)
    out.limits["timeout_s"] = float(reader.take("timeout", OPENEVOLVE_TIMEOUT_S))
    if reader.has("memory_limit_mb"):
        out.limits["memory_mb"] = int(reader.take("memory_limit_mb"))
    if reader.has("cpu_limit"):
        out.limits["cpus"] = float(reader.take("cpu_limit"))
    out.cascade = bool(reader.take("cascade_evaluation", True))
    thresholds = list(reader.take("cascade_thresholds", OPENEVOLVE_CASCADE_THRESHOLDS) or [])
    for index, value in enumerate(thresholds):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise OpenEvolveFormatError(f"evaluator.cascade_thresholds[{index}] must be a number, not {value!r}")
    if out.cascade:
        out.cascade_threshold = float(thresholds[0]) if thresholds else None
        out.stage3_threshold = float(thresholds[1]) if len(thresholds) > 1 else None
    evaluation: dict[str, Any] = {}
    if reader.has("parallel_evaluations"):
        evaluation["slots"] = int(reader.take("parallel_evaluations"))
    reader.take("llm_feedback_weight")
    reader.take("max_artifact_storage")
    reader.report_rest()
    return evaluation


def map_config(config: dict[str, Any], source: str = "config.yaml") -> MappedConfig:
    """Map an OpenEvolve configuration (as loaded from YAML) onto evolve's problem.yaml fields."""
    out = MappedConfig(description=GENERIC_DESCRIPTION, evolve={}, limits={}, features=[], cascade=True,
                       cascade_threshold=None, stage3_threshold=None)
    top = _Reader(config, "", out)
    for key in ("llm", "prompt", "database", "evaluator", "diff_based_evolution"):
        top.take(key)
    prompt = _section(config, "prompt", source)
    llm = _llm(_section(config, "llm", source), prompt, config, out)
    inspirations = _prompt(prompt, config, out)
    archive, database_seed = _database(_section(config, "database", source), out)
    evaluation = _evaluator(_section(config, "evaluator", source), out)
    archive.update(inspirations)
    program = top.take("initial_program")
    if program is not None and (not isinstance(program, str) or not program.strip()):
        raise OpenEvolveFormatError(f"{source}: 'initial_program' must name a file of the directory, not {program!r}")
    out.initial_program = program
    out.language, out.file_suffix = top.take("language"), top.take("file_suffix")
    for key, value in (("language", out.language), ("file_suffix", out.file_suffix)):
        if value is not None and not isinstance(value, str):
            raise OpenEvolveFormatError(f"{source}: '{key}' must be a string, not {value!r}")
        if value not in HARMLESS_AT[key]:
            out.unsupported[key] = REASONS[key]  # until the initial program is found to agree
    if top.has("max_iterations"):
        out.evolve["iterations"] = int(top.take("max_iterations"))
    seed = top.take("random_seed")
    seed = database_seed if seed is None else seed
    if seed is not None:
        out.evolve["seed"] = int(seed)
    if llm:
        out.evolve["llm"] = llm
    if archive:
        out.evolve["archive"] = archive
    if out.cascade_threshold is not None:
        evaluation["cascade_threshold"] = out.cascade_threshold
    if evaluation:
        out.evolve["evaluation"] = evaluation
    if config.get("early_stopping_patience") is None:
        top.take("convergence_threshold")  # both only matter with a patience
        top.take("early_stopping_metric")
    for section in ("evolution_trace", "hierarchical"):
        value = top.take(section)
        if isinstance(value, dict) and value.get("enabled"):
            out.unsupported[section] = f"evolve has no {section.replace('_', ' ')} feature"
    top.report_rest()
    return out
