"""A problem folder and its problem.yaml, validated so mistakes surface before a run starts.

A problem is a folder: problem.yaml, a seed program with EVOLVE-BLOCK markers, and an
evaluator module. Everything the framework knows about a problem comes from here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evolve.documents import describe_errors, read_mapping
from evolve.evaluators.markers import END_MARKER, START_MARKER, comment_of, has_markers
from evolve.feature_dimension import FeatureDimension
from evolve.resources import BUNDLED_PROBLEMS, INSTALLED

PROBLEMS_DIR = Path(os.environ.get("EVOLVE_PROBLEMS_DIR") or BUNDLED_PROBLEMS)


class ProblemError(ValueError):
    """A problem folder is missing or its problem.yaml is wrong; the message says where."""


class Limits(BaseModel):
    """What one evaluation of a candidate may use; the sandbox enforces each of these."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    timeout_s: float = Field(60.0, gt=0, description="wall clock per stage; the process group is killed after it")
    memory_mb: int = Field(2048, ge=64, description="address-space limit of the candidate process")
    cpus: float = Field(1.0, gt=0, description="CPUs a Ray evaluation slot requests")
    gpus: float = Field(0.0, ge=0, description="GPUs a Ray evaluation slot requests")
    max_output_kb: int = Field(256, ge=1, description="stdout/stderr kept per stream (the tail)")
    max_file_mb: int = Field(64, ge=1, description="largest file the candidate may write")
    max_procs: int = Field(64, ge=1, description="processes and threads the candidate may have at once")
    max_open_files: int = Field(256, ge=16, description="open file descriptors")
    max_disk_mb: int = Field(256, ge=1, description="all the candidate may write in one evaluation, files together")
    split_timeout_s: dict[str, float] = Field(
        default_factory=dict, description="wall clock per stage on named splits (a leaderboard split with its own budget)")

    def timeout_for(self, split: str) -> float:
        return self.split_timeout_s.get(split, self.timeout_s)


class BuildSpec(BaseModel):
    """How a compiled candidate is built in its sandbox (evaluators.candidate.native runs it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(description="the file name the program is written to before the build, e.g. candidate.cpp")
    command: list[str] = Field(min_length=1, description="the build command; {source} and {binary} are filled in")
    toolchain: dict[str, str] = Field(default_factory=dict, description="each tool the build needs -> its apt package")
    timeout_s: float = Field(60.0, gt=0, description="wall clock of one build")
    memory_mb: int = Field(2048, ge=64, description="address-space limit of the compiler")


class CandidateSpec(BaseModel):
    """What a candidate's process may see of the problem and the installation, and its language."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    public: list[str] = Field(default_factory=list, description="paths under the problem folder the candidate may import")
    packages: list[str] = Field(default_factory=lambda: ["numpy"], description="installed packages the candidate may import")
    on_demand_packages: list[str] = Field(
        default_factory=list, description="packages shown to the candidate when installed, for the splits that need them: "
        "not required at load, not preloaded, not in the prompt")
    language: str = Field("python", description="the program's language: its comment syntax, prompt fences, parse check")
    build: BuildSpec | None = Field(None, description="a compiled candidate's build; it then answers on stdin/stdout")


class ProblemSpec(BaseModel):
    """problem.yaml as written; see docs/architecture.md for the meaning of each key."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    description: str = ""
    program: str = "seed.py"
    evaluator: str = "evaluate.py"
    limits: Limits = Field(default_factory=Limits)
    scoring: Literal["channel", "in_process"] = "in_process"
    candidate: CandidateSpec = Field(default_factory=CandidateSpec)
    features: list[dict[str, Any]] = Field(default_factory=list)
    cascade_threshold: float | None = None
    splits: dict[str, str] = Field(default_factory=lambda: {"train": "", "test": ""})
    evolve: dict[str, Any] = Field(default_factory=dict)


class Problem(BaseModel):
    """A loaded, checked problem. Paths are absolute; ``seed_code`` is read once at load."""

    model_config = ConfigDict(frozen=True)
    name: str
    root: Path
    description: str
    program_path: Path
    evaluator_path: Path
    seed_code: str
    limits: Limits
    scoring: str
    candidate: CandidateSpec
    features: list[dict[str, Any]]
    cascade_threshold: float | None
    splits: dict[str, str]
    evolve: dict[str, Any]

    @property
    def summary(self) -> str:
        """The first non-empty line of the description, for listings."""
        return next((line.strip() for line in self.description.splitlines() if line.strip()), "")

    @property
    def language(self) -> str:
        return self.candidate.language


def _describe(error: ValidationError, source: Path) -> str:
    return "\n  ".join([f"invalid problem file {source}:", *describe_errors(error, ProblemSpec)])


def _check_features(features: list[dict[str, Any]], source: Path) -> None:
    """Features go to the program database's grid; check them here so the error names problem.yaml."""
    for index, feature in enumerate(features):
        try:
            FeatureDimension.model_validate(feature)
        except ValidationError as exc:
            details = "; ".join(describe_errors(exc, FeatureDimension))
            valid = ", ".join(FeatureDimension.model_fields)
            raise ProblemError(f"invalid problem file {source}: features[{index}]: {details} (valid keys: {valid})") from None


def _search_dirs() -> list[Path]:
    """Where a bare problem name is looked for. Installed as a package, the user's own
    ``./problems`` (where ``evolve new-problem`` writes) comes before the bundled problems."""
    own = Path.cwd() / "problems"
    return [own, PROBLEMS_DIR] if INSTALLED and own.resolve() != PROBLEMS_DIR.resolve() else [PROBLEMS_DIR]


def _resolve(ref: str | Path) -> Path:
    candidate = Path(ref)
    if candidate.is_dir():
        return candidate.resolve()
    dirs = _search_dirs()
    if isinstance(ref, str) and "/" not in ref:
        for base in dirs:
            if (base / ref).is_dir():
                return (base / ref).resolve()
    names = sorted({p.name for base in dirs if base.is_dir() for p in base.iterdir() if (p / "problem.yaml").is_file()})
    raise ProblemError(f"no problem folder '{ref}' (neither a directory nor a name under "
                       f"{' or '.join(str(d) for d in dirs)}; known: {', '.join(names) or 'none'})")


def _inside(root: Path, relative: str, key: str, source: Path) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ProblemError(f"invalid problem file {source}: {key} '{relative}' lies outside the problem folder")
    if not path.is_file():
        raise ProblemError(f"invalid problem file {source}: {key} '{relative}' does not exist in {root}")
    return path


def _public_path(root: Path, relative: str, source: Path) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.exists():
        raise ProblemError(f"invalid problem file {source}: candidate.public '{relative}' is not a file or folder in {root}")
    return path


SYSTEM_TOOL_DIRS = ("/usr/", "/etc/alternatives/")  # what the candidate's sandbox shows of this machine


def _check_toolchain(build: BuildSpec, source: Path) -> None:
    """A missing compiler is named before any candidate is built, with the package that brings it;
    so is one installed outside /usr (~/.cargo, say), which the candidate's sandbox does not see."""
    dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    visible = os.pathsep.join(d for d in dirs if (os.path.realpath(d) + "/").startswith(SYSTEM_TOOL_DIRS))
    unseen = [tool for tool in build.toolchain if shutil.which(tool, path=visible) is None]
    missing = [tool for tool in unseen if shutil.which(tool) is None]
    hidden = [tool for tool in unseen if tool not in missing]
    for tools, why in ((missing, "not found on PATH"), (hidden, "found only outside /usr, which the sandbox does not show")):
        if tools:
            packages = " ".join(dict.fromkeys(build.toolchain[tool] for tool in tools))
            raise ProblemError(f"problem file {source} builds candidates with {', '.join(tools)}, {why}: "
                               f"apt-get install -y {packages}")


def load_problem(ref: str | Path) -> Problem:
    """Load a problem by name (a folder under PROBLEMS_DIR) or by path to its folder."""
    root = _resolve(ref)
    source = root / "problem.yaml"
    if not source.is_file():
        raise ProblemError(f"{root} has no problem.yaml")
    raw = read_mapping(source, ProblemError)
    try:
        spec = ProblemSpec.model_validate(raw)
    except ValidationError as exc:
        raise ProblemError(_describe(exc, source)) from None
    _check_features(spec.features, source)
    program_path = _inside(root, spec.program, "program", source)
    for public in spec.candidate.public:
        _public_path(root, public, source)
    evaluator_path = _inside(root, spec.evaluator, "evaluator", source)
    seed_code = program_path.read_text()
    if not has_markers(seed_code):
        comment = comment_of(spec.candidate.language)
        raise ProblemError(
            f"invalid problem file {source}: program {spec.program} must mark what may evolve with "
            f"'{comment} {START_MARKER}' and '{comment} {END_MARKER}' lines"
        )
    if spec.candidate.build is not None:
        _check_toolchain(spec.candidate.build, source)
    if "train" not in spec.splits:
        raise ProblemError(f"invalid problem file {source}: splits must name a 'train' split (got {sorted(spec.splits)})")
    return Problem(
        name=spec.name or root.name,
        root=root,
        description=spec.description,
        program_path=program_path,
        evaluator_path=evaluator_path,
        seed_code=seed_code,
        limits=spec.limits,
        scoring=spec.scoring,
        candidate=spec.candidate,
        features=spec.features,
        cascade_threshold=spec.cascade_threshold,
        splits=spec.splits,
        evolve=spec.evolve,
    )


def require_packages(problem: Problem) -> None:
    """Stop before any evaluation when a package the problem's candidates may import is missing.

    ``on_demand_packages`` are left out: only the splits that need one fail without it.
    """
    from evolve.evaluators.candidate_view import missing_packages

    missing = missing_packages(problem.candidate.packages)
    if missing:
        names = " ".join(missing)
        raise ProblemError(f"problem {problem.name} lets candidates import {', '.join(missing)}, not installed here: "
                           f"pip install {names}  (or pip install 'evolve[problems]' for every bundled problem)")


def list_problems(directory: Path | None = None) -> list[Problem]:
    """Every loadable problem under ``directory`` (default PROBLEMS_DIR), sorted by name.

    A broken folder raises rather than being skipped, so a typo in problem.yaml is seen.
    """
    base = directory or PROBLEMS_DIR
    if not base.is_dir():
        return []
    return sorted(
        (load_problem(child) for child in base.iterdir() if (child / "problem.yaml").is_file()),
        key=lambda p: p.name,
    )
