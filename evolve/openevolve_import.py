"""Problems written for OpenEvolve, converted into native problem folders without editing them.

An OpenEvolve problem is a directory with an initial program, an ``evaluator.py`` and
usually a ``config.yaml``. Converting (rather than teaching the engine a second format)
keeps one evaluation path: the original evaluator runs inside our sandbox behind a
generated ``evaluate.py`` that translates its return values, cascade and artifacts.
``evolve run DIR`` converts into a cache folder named by the directory's content hash,
so an unchanged directory is converted once and a changed one never reuses a stale copy.
OpenEvolve takes the initial program's path on its command line, so the program may be
named (``evolve run DIR initial_greedy.py``, ``evolve run DIR/initial_greedy.py``, or
``initial_program:`` in config.yaml);
otherwise it is found among the usual names.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer
import yaml
from rich.console import Console

from evolve.config import ConfigError, RunConfig, deep_merge, validate
from evolve.documents import read_mapping
from evolve.evaluators.markers import END_MARKER, START_MARKER, SUFFIX_LANGUAGES, comment_of, has_markers
from evolve.evaluators.problem import SYSTEM_TOOL_DIRS, ProblemError, load_problem
from evolve.openevolve_adapter import ADAPTER, SHIM_INIT, SHIM_RESULT
from evolve.openevolve_config import MappedConfig, OpenEvolveFormatError, map_config

DEFAULT_CACHE_DIR = Path("runs/imported")
EVALUATOR = "evaluator.py"
CONFIG = "config.yaml"
INITIAL_STEM = "initial_program"
INITIAL_PROGRAM = "initial_program.py"
USUAL_PROGRAMS = "initial_*.py"  # initial_greedy.py and the like, as ADRS examples name theirs
SKIPPED = {"__pycache__", ".git", ".pytest_cache", "openevolve_output", ".ipynb_checkpoints"}
ENTRY_POINTS = ("evaluate", "evaluate_stage1")
# Tools OpenEvolve evaluators shell out to, with the Debian package that puts each under /usr.
TOOL_PACKAGES = {"cargo": "cargo", "rustc": "rustc", "Rscript": "r-base-core", "R": "r-base-core", "g++": "g++",
                 "gcc": "gcc", "clang": "clang", "go": "golang-go", "julia": "julia", "node": "nodejs",
                 "javac": "default-jdk", "java": "default-jre", "nvcc": "nvidia-cuda-toolkit"}

class _Dumper(yaml.SafeDumper):
    """Readable problem.yaml: multi-line text as literal blocks, no anchors for repeated lists."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text_block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _text_block)


def _yaml(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


@dataclass
class ImportedProblem:
    """A converted problem folder and what of the OpenEvolve configuration it could not keep."""

    root: Path
    source: Path
    unsupported: dict[str, str]
    notes: list[str]


def is_openevolve_dir(path: Path) -> bool:
    """A directory in OpenEvolve's shape: an evaluator.py and no problem.yaml of ours."""
    return path.is_dir() and (path / EVALUATOR).is_file() and not (path / "problem.yaml").is_file()


def _files(source: Path) -> list[Path]:
    return [p for p in sorted(source.rglob("*"))
            if p.is_file() and not SKIPPED.intersection(p.relative_to(source).parts)]


def _program_files(source: Path) -> list[Path]:
    """Files of the directory that could be an initial program: not the evaluator or the config."""
    return [p for p in sorted(source.iterdir()) if p.is_file() and p.name not in (EVALUATOR, CONFIG)
            and p.suffix.lower() in SUFFIX_LANGUAGES]


def _named_program(source: Path, named: str) -> Path:
    path = (source / named).resolve()
    if not path.is_relative_to(source) or not path.is_file():
        found = ", ".join(p.name for p in _program_files(source)) or "none"
        raise OpenEvolveFormatError(f"{source}: the initial program '{named}' is not a file in the directory "
                                    f"(program files there: {found})")
    return path


def _initial_program(source: Path, named: str | None = None, suffix: str | None = None) -> Path:
    """The named program; else initial_program with the config's file_suffix, else .py, else the
    one initial_program.* in a known language; else the one initial_*.py, or the one program file
    that carries EVOLVE-BLOCK markers."""
    if named:
        return _named_program(source, named)
    for name in dict.fromkeys(f"{INITIAL_STEM}{s}" for s in (suffix, ".py") if s):
        if (source / name).is_file():
            return source / name
    others = [p for p in _program_files(source) if p.stem == INITIAL_STEM]
    if len(others) == 1:
        return others[0]
    candidates = others or sorted(source.glob(USUAL_PROGRAMS)) or [
        p for p in _program_files(source) if has_markers(p.read_text(errors="replace"))
    ]
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise OpenEvolveFormatError(
            f"{source}: cannot tell which file is the initial program: no {INITIAL_PROGRAM}; candidates "
            f"({INITIAL_STEM}.*, {USUAL_PROGRAMS}, or program files with {START_MARKER} markers): {found}; name it with "
            f"`evolve run {source.name} PROGRAM` or 'initial_program: PROGRAM' in {CONFIG}"
        )
    return candidates[0]


def _language(program: Path, mapped: MappedConfig) -> str:
    """The program's language, read off its suffix; config.yaml's language and file_suffix must agree."""
    suffix = program.suffix.lower()
    language = SUFFIX_LANGUAGES.get(suffix)
    if language is None:
        known = " ".join(sorted(SUFFIX_LANGUAGES))
        raise OpenEvolveFormatError(f"{program}: evolve cannot tell the language of a '{suffix}' file "
                                    f"(known suffixes: {known})")
    if mapped.language is not None and mapped.language.lower() == language:
        mapped.unsupported.pop("language", None)
    if mapped.file_suffix is not None and mapped.file_suffix.lower() == suffix:
        mapped.unsupported.pop("file_suffix", None)
    return language


def _evaluator_functions(path: Path) -> set[str]:
    """The names evaluator.py binds at top level; it must offer evaluate or evaluate_stage1."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as exc:
        raise OpenEvolveFormatError(f"{path} is not valid Python: {exc}") from None
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
    if not defined.intersection(ENTRY_POINTS):
        raise OpenEvolveFormatError(f"{path} defines neither evaluate(program_path) nor evaluate_stage1(program_path)")
    return defined


def _tool_notes(path: Path) -> list[str]:
    """Tools the evaluator names as a string (``["cargo", "build"]``) that the sandbox, which shows
    /usr but not ~/.cargo or /opt, cannot run: said at import rather than as every candidate's failure."""
    named = {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
             and isinstance(node.value, str) and node.value in TOOL_PACKAGES}
    dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    visible = os.pathsep.join(d for d in dirs if (os.path.realpath(d) + "/").startswith(SYSTEM_TOOL_DIRS))
    notes = []
    for tool in sorted(named):
        if shutil.which(tool, path=visible) is None:
            where = "found only outside /usr, which the sandbox does not show" if shutil.which(tool) else "not installed"
            notes.append(f"{EVALUATOR} runs {tool}, {where}: apt-get install -y {TOOL_PACKAGES[tool]}")
    return notes


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    return read_mapping(path, OpenEvolveFormatError)


def _free_name(preferred: str, taken: set[str]) -> str:
    return preferred if preferred not in taken else f"evolve_{preferred}"


def _seed_text(program: Path, language: str) -> str:
    """The initial program; one without markers is wrapped whole, as OpenEvolve evolves the whole file,
    the markers written in the language's comment syntax."""
    code = program.read_text()
    comment = comment_of(language)
    return code if has_markers(code) else f"{comment} {START_MARKER}\n{code.rstrip()}\n{comment} {END_MARKER}\n"


def _problem_yaml(name: str, mapped: MappedConfig, program: str, adapter: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "description": mapped.description,
        "program": program,
        "evaluator": adapter,
        "limits": mapped.limits,
        "splits": {"train": "the evaluator's own workload (OpenEvolve problems have no held-out split)"},
    }
    if mapped.language not in (None, "python"):
        spec["candidate"] = {"language": mapped.language}
    if mapped.features:
        spec["features"] = mapped.features
    if mapped.cascade_threshold is not None:
        spec["cascade_threshold"] = mapped.cascade_threshold
    spec["evolve"] = mapped.evolve
    return spec


def _readme(name: str, source: Path, mapped: MappedConfig) -> str:
    lines = [f"# {name} (imported from OpenEvolve's format)", "",
             f"Converted from `{source.name}/` by `evolve import`. The original files are copied unchanged, but for",
             "the OpenEvolve config, which problem.yaml replaces (it is not copied, so no API key in it is either);",
             "`evaluate.py` adapts the original `evaluator.py` to evolve's evaluator contract and `openevolve/`",
             "is a minimal stand-in for `openevolve.evaluation_result`. See docs/openevolve.md for the mapping.", "",
             "## Settings not honoured", ""]
    lines += [f"- `{key}`: {reason}" for key, reason in sorted(mapped.unsupported.items())] or ["None."]
    if mapped.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in mapped.notes]
    return "\n".join(lines) + "\n"


def _check_run_config(evolve: dict[str, Any], config_path: Path | None) -> None:
    source = f"{config_path or CONFIG} (as mapped onto evolve's run configuration)"
    try:
        validate(deep_merge(RunConfig().model_dump(), evolve), source)
    except ConfigError as exc:
        raise OpenEvolveFormatError(f"{exc}\n  (these are evolve's names for the OpenEvolve settings; "
                                    "docs/openevolve.md says which is which)") from None


def convert(source: Path, config_path: Path | None = None, program: str | None = None) -> tuple[MappedConfig, Path]:
    """Read and map a directory without writing anything: the mapping and the initial program
    (``program``, else the one config.yaml names, else found by its name)."""
    source = source.resolve()
    if not (source / EVALUATOR).is_file():
        raise OpenEvolveFormatError(f"{source} has no {EVALUATOR}; an OpenEvolve problem needs one")
    functions = _evaluator_functions(source / EVALUATOR)
    config_path = config_path or (source / CONFIG if (source / CONFIG).is_file() else None)
    mapped = map_config(_read_config(config_path), str(config_path or CONFIG))
    program_path = _initial_program(source, program or mapped.initial_program, mapped.file_suffix)
    mapped.language = _language(program_path, mapped)
    mapped.notes.extend(_tool_notes(source / EVALUATOR))
    if config_path is None:
        mapped.notes.append(f"no {CONFIG}: OpenEvolve's evaluation defaults (cascade thresholds, timeout) apply")
    if mapped.cascade and mapped.stage3_threshold is not None and "evaluate_stage3" in functions:
        mapped.limits["timeout_s"] *= 2
        mapped.notes.append("stages 2 and 3 run in one sandboxed stage, so its timeout is twice evaluator.timeout")
    if not has_markers(program_path.read_text()):
        mapped.notes.append(f"{program_path.name} has no EVOLVE-BLOCK markers: the whole file evolves, as in OpenEvolve")
    _check_run_config(mapped.evolve, config_path)
    return mapped, program_path


def import_directory(
    source: Path, target: Path, config_path: Path | None = None, program: str | None = None
) -> ImportedProblem:
    """Write a native problem folder at ``target`` (which must not exist or be empty) from ``source``."""
    source = Path(source).resolve()
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OpenEvolveFormatError(f"{target} already exists and is not empty; choose a new folder")
    mapped, program_path = convert(source, config_path, program)
    # The config is replaced by problem.yaml, and may hold a literal API key that must not be copied.
    files = [p for p in _files(source) if p != (Path(config_path).resolve() if config_path else source / CONFIG)]
    taken = {p.relative_to(source).as_posix() for p in files}
    seed_name, adapter_name = _free_name("seed" + program_path.suffix, taken), _free_name("evaluate.py", taken)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for path in files:
            destination = staging / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        (staging / seed_name).write_text(_seed_text(program_path, mapped.language))
        settings = {"evaluator": EVALUATOR, "cascade": mapped.cascade, "stage3_threshold": mapped.stage3_threshold,
                    "feature_dimensions": mapped.feature_dimensions}
        (staging / adapter_name).write_text(ADAPTER.replace("__SETTINGS__", repr(settings)))
        if not (staging / "openevolve").exists():
            (staging / "openevolve").mkdir()
            (staging / "openevolve" / "__init__.py").write_text(SHIM_INIT)
            (staging / "openevolve" / "evaluation_result.py").write_text(SHIM_RESULT)
        spec = _problem_yaml(source.name, mapped, seed_name, adapter_name)
        (staging / "problem.yaml").write_text(_yaml(spec))
        (staging / _free_name("README.md", taken)).write_text(_readme(source.name, source, mapped))
        load_problem(staging)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ImportedProblem(root=target.resolve(), source=source, unsupported=mapped.unsupported, notes=mapped.notes)


def content_hash(source: Path, program: str | None = None) -> str:
    """Hash of the directory's files, the program named, and this converter, so any change
    makes a fresh folder."""
    digest = hashlib.sha256(ADAPTER.encode() + (program or "").encode() + b"\0")
    for module in ("openevolve_config.py", "openevolve_adapter.py"):
        digest.update(Path(__file__).with_name(module).read_bytes())
    digest.update(Path(__file__).read_bytes())
    for path in _files(source):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def report(imported: ImportedProblem, console: Console) -> None:
    """Print what could not be honoured, so nobody believes a setting took effect when it did not."""
    if imported.unsupported:
        console.print(f"[yellow]{len(imported.unsupported)} OpenEvolve settings are not honoured:[/yellow]")
        for key, reason in sorted(imported.unsupported.items()):
            console.print(f"  {key}: {reason}", highlight=False, markup=False)
    for note in imported.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)


def import_cached(source: Path, cache_dir: Path = DEFAULT_CACHE_DIR, program: str | None = None) -> ImportedProblem:
    """Convert into ``cache_dir/<name>-<content hash>``, reusing the folder when nothing changed."""
    source = Path(source).resolve()
    target = Path(cache_dir) / f"{source.name}-{content_hash(source, program)}"
    if (target / "problem.yaml").is_file():
        mapped, _ = convert(source, program=program)
        return ImportedProblem(root=target.resolve(), source=source, unsupported=mapped.unsupported, notes=mapped.notes)
    return import_directory(source, target, program=program)


def resolve_problem_ref(
    ref: str, cache_dir: Path = DEFAULT_CACHE_DIR, console: Console | None = None, program: str | None = None
) -> str:
    """The problem reference to load: ``ref`` itself, or the converted folder of an OpenEvolve
    directory. ``ref`` may be the initial program inside such a directory, or ``program`` name it."""
    path = Path(ref)
    if path.is_file() and path.name not in (EVALUATOR, CONFIG) and is_openevolve_dir(path.parent) and program is None:
        path, program = path.parent, path.name
    if not is_openevolve_dir(path):
        if program is not None:
            raise OpenEvolveFormatError(f"{ref} is not an OpenEvolve directory (evaluator.py, no problem.yaml), so no initial "
                               f"program can be named for it; a problem folder names its program in problem.yaml")
        return ref
    imported = import_cached(path, cache_dir, program)
    if console is not None:
        console.print(f"OpenEvolve problem {path} runs as {imported.root}", highlight=False)
        report(imported, console)
    return str(imported.root)


def register(app: typer.Typer) -> None:
    """Add ``evolve import`` to the command line."""

    @app.command("import")
    def import_(
        directory: Path = typer.Argument(
            ..., help="an OpenEvolve problem directory (evaluator.py, initial program, config.yaml)"),
        output: Path = typer.Option(..., "--output", "-o", help="the problem folder to write (must not exist)"),
        config: Optional[Path] = typer.Option(None, "--config", help="the OpenEvolve config to map (default: DIR/config.yaml)"),
        program: Optional[str] = typer.Option(
            None, "--program", help="the initial program in DIR (default: initial_program.py or the usual names)"),
    ) -> None:
        """Convert a problem written for OpenEvolve into a native problem folder.

        Example: evolve import examples/function_minimization -o problems/function_minimization
        """
        console, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
        try:
            imported = import_directory(directory, output, config, program)
        except ProblemError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2)
        console.print(f"created {imported.root} from {imported.source}: run it with: evolve run {output}", highlight=False)
        report(imported, console)
