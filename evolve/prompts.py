"""The messages a mutation sends, rendered from the Jinja2 templates in prompts/.

Templates: ``system.j2``, ``diff.j2``, ``rewrite.j2``, ``repair.j2`` (and the shared
``_context.j2``). A problem overrides any of them by putting a file of the same name in
its folder (or in a ``prompts/`` folder inside it). Rendering is a pure function of the
request, so ``evolve prompt`` can show exactly what a parent would send.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import jinja2

from evolve.database.records import FAILURE_CHARS, FAILURES_KEPT, ProgramView
from evolve.edit_repairs import REPAIRS, REPAIRS_ARTIFACT
from evolve.evaluators.markers import fence_name, guess_language
from evolve.mutation import MutationRequest
from evolve.regions import RegionError, split_regions
from evolve.resources import PROMPT_TEMPLATES

PROMPTS_DIR = PROMPT_TEMPLATES
MODES = ("diff", "rewrite")

ARTIFACT_CHARS = 1500  # per artifact: the model needs the gist, not a full log
_TAIL_KEYS = ("stderr", "stdout", "traceback", "log", "error")


class PromptError(ValueError):
    """A template is missing or cannot be rendered."""


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.6g}"


def _bounded(name: str, text: str, limit: int = ARTIFACT_CHARS) -> str:
    """Keep the end of logs (where errors are) and the start of everything else."""
    text = str(text).rstrip()
    if len(text) <= limit:
        return text
    if any(key in name.lower() for key in _TAIL_KEYS):
        return f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]
    return text[:limit] + f"\n[... {len(text) - limit} characters cut ...]"


def _metric_text(value: Any) -> str:
    if isinstance(value, (list, tuple, dict)):
        text = repr(value)
        return text if len(text) <= 120 else text[:117] + "..."
    return _num(value)


def _repairs(artifacts: dict[str, str]) -> list[str]:
    """What the edit that made this program needed, so the model can write the next one
    so that it applies as written."""
    names = [name.strip() for name in str(artifacts.get(REPAIRS_ARTIFACT, "")).split(",")]
    return [REPAIRS.get(name, name) for name in names if name]


def _program(view: ProgramView, with_feedback: bool) -> dict[str, Any]:
    code = view.code if view.code.endswith("\n") else view.code + "\n"
    out: dict[str, Any] = {
        "code": code,
        "score": view.score,
        "generation": view.generation,
        "metrics": {},
        "artifacts": {},
        "repairs": [],
    }
    if with_feedback:
        out["metrics"] = {k: _metric_text(v) for k, v in view.metrics.items() if k != "score"}
        out["artifacts"] = {k: _bounded(k, v) for k, v in view.artifacts.items()
                            if str(v).strip() and k != REPAIRS_ARTIFACT}
        out["repairs"] = _repairs(view.artifacts)
    return out


@functools.lru_cache(maxsize=32)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    """One environment per problem folder: Jinja2 caches compiled templates in it, and
    compiling them again for every candidate was most of the rendering time."""
    paths: list[str] = []
    if templates_dir is not None:
        folder = Path(templates_dir)
        paths += [str(folder / "prompts"), str(folder)]
    paths.append(str(PROMPTS_DIR))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=False,
    )
    env.filters["num"] = _num
    return env


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context).strip() + "\n"
    except jinja2.TemplateNotFound as exc:
        raise PromptError(f"prompt template {exc.name} not found in {env.loader.searchpath}") from None
    except jinja2.TemplateError as exc:
        raise PromptError(f"prompt template {name} failed to render: {exc}") from None


def _num_regions(code: str) -> int:
    try:
        return len(split_regions(code).regions)
    except RegionError:
        return 1


LANGUAGE_NAMES = {"python": "Python", "cpp": "C++", "c": "C", "rust": "Rust", "r": "R", "go": "Go", "cuda": "CUDA",
                  "lua": "Lua", "fortran": "Fortran", "javascript": "JavaScript", "typescript": "TypeScript"}


def _language(request: MutationRequest) -> dict[str, str]:
    """The program's language as its problem declares it (else as its markers' comment syntax
    shows it): the prompts name it and fence code with it (a C++ program is not asked to stay
    valid Python)."""
    language = request.language if request.language != "python" else guess_language(request.parent.code)
    return {"language": language, "language_name": LANGUAGE_NAMES.get(language, language), "fence": fence_name(language)}


def prompt_context(request: MutationRequest, mode: str, system_message: str | None = None) -> dict[str, Any]:
    """Everything the templates may use."""
    if mode not in MODES:
        raise PromptError(f"unknown edit mode {mode!r}; one of {', '.join(MODES)}")
    failures = [
        " ".join(str(f).split())[:FAILURE_CHARS] for f in request.failures[-FAILURES_KEPT:] if str(f).strip()
    ]
    return {
        "problem_name": request.problem_name,
        "description": (system_message or request.description).strip(),
        "parent": _program(request.parent, with_feedback=True),
        "inspirations": [_program(view, with_feedback=False) for view in request.inspirations],
        "failures": failures,
        "island": request.island,
        "generation": request.generation,
        "mode": mode,
        "num_regions": _num_regions(request.parent.code),
        "packages": list(request.packages),
        "memory": request.memory or "",  # evolve.run_memory: the run's latest note
        **_language(request),
    }


def render_template(name: str, context: dict[str, Any], templates_dir: str | None = None) -> str:
    """One template by name, a problem's own copy first (the run memory's prompt)."""
    return _render(_environment(templates_dir), name, context)


def render_messages(request: MutationRequest, mode: str, system_message: str | None = None) -> list[dict[str, str]]:
    """The system and user messages for one mutation, from the request's templates."""
    env = _environment(request.templates_dir)
    context = prompt_context(request, mode, system_message)
    return [
        {"role": "system", "content": _render(env, "system.j2", context)},
        {"role": "user", "content": _render(env, f"{mode}.j2", context)},
    ]


def repair_messages(
    request: MutationRequest,
    mode: str,
    messages: list[dict[str, str]],
    reply: str,
    reason: str,
) -> list[dict[str, str]]:
    """The conversation continued by the failed reply and a turn saying why it failed."""
    env = _environment(request.templates_dir)
    context = {**prompt_context(request, mode), "reason": reason}
    return [
        *messages,
        {"role": "assistant", "content": reply},
        {"role": "user", "content": _render(env, "repair.j2", context)},
    ]
