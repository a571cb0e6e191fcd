"""Running OpenEvolve 0.4.0 on a benchmark problem, in a virtual environment of its own.

OpenEvolve gets the problem's own seed.py and evaluate.py (the evaluator answers both
frameworks: `score` for evolve, `combined_score` for OpenEvolve) and the settings in the
problem's openevolve/config.yaml.

The environment lives under runs/ (ignored by git) and is created on first use with
``pip install openevolve==0.4.0``. OpenEvolve runs through its own command line
(``python -m openevolve.cli``) against the same scripted server as evolve. Its finished
candidates and their times are read from its log (its default level, INFO).
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import time
import venv
from collections import Counter
from pathlib import Path

import yaml
from run_measure import RunMeasure

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "runs" / "bench" / "venv-openevolve"
VERSION = "0.4.0"
PYTHON = VENV / "bin" / "python"
RUN_TIMEOUT_S = 900


class OpenEvolveFailed(RuntimeError):
    """Installing or running OpenEvolve failed; the message holds the end of its output."""


def installed_version() -> str | None:
    if not PYTHON.exists():
        return None
    probe = subprocess.run([str(PYTHON), "-c", "import openevolve; print(openevolve.__version__)"],
                           capture_output=True, text=True)
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_openevolve() -> Path:
    """The venv's interpreter, with openevolve==0.4.0 installed from PyPI if it is not yet."""
    if installed_version() == VERSION:
        return PYTHON
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    done = subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", f"openevolve=={VERSION}"],
                          capture_output=True, text=True)
    if done.returncode != 0 or installed_version() != VERSION:
        raise OpenEvolveFailed(f"pip install openevolve=={VERSION} into {VENV} failed:\n{done.stderr[-3000:]}")
    return PYTHON


def write_config(problem: Path, target: Path, api_base: str, in_flight: int, n: int) -> Path:
    """The problem's OpenEvolve config.yaml with this run's server, parallelism and length."""
    config = yaml.safe_load((problem / "openevolve" / "config.yaml").read_text())
    config["llm"]["api_base"] = api_base
    config["evaluator"]["parallel_evaluations"] = in_flight
    config["max_iterations"] = n
    target.write_text(yaml.safe_dump(config))
    return target


def command(problem: Path, config: Path, output: Path, n: int) -> list[str]:
    return [str(PYTHON), "-m", "openevolve.cli", str(problem / "seed.py"), str(problem / "evaluate.py"),
            "--config", str(config), "--output", str(output), "--iterations", str(n)]


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - \S+ - \w+ - Iteration (\d+)(:| error:)")


def read_candidates(output: Path) -> tuple[list[float], Counter[str]]:
    """When each iteration finished (as the controller logged it) and whether it made a program.

    The log, not the checkpoint: OpenEvolve keeps only the programs its grid and archive
    hold, so a checkpoint lacks the candidates that were displaced.
    """
    finished: dict[int, float] = {}
    statuses: Counter[str] = Counter()
    for log in sorted((output / "logs").glob("*.log")):
        for line in log.read_text().splitlines():
            match = LOG_LINE.match(line)
            if match is None or int(match.group(2)) in finished:
                continue
            stamp = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            finished[int(match.group(2))] = stamp
            statuses["ok" if match.group(3) == ":" else "error"] += 1
    if not finished:
        raise OpenEvolveFailed(f"no finished iteration in the logs under {output}; is log_level INFO?")
    return list(finished.values()), statuses


def run_openevolve(problem: Path, api_base: str, n: int, in_flight: int, workdir: Path) -> RunMeasure:
    """Run ``n`` iterations with ``in_flight`` worker processes on the problem."""
    ensure_openevolve()
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "openevolve_output"
    shutil.rmtree(output, ignore_errors=True)
    config = write_config(problem, workdir / "config.yaml", api_base, in_flight, n)
    started = time.perf_counter()
    done = subprocess.run(command(problem, config, output, n), cwd=workdir, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, env={**os.environ, "OPENAI_API_KEY": "bench"})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise OpenEvolveFailed(f"openevolve failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    finished, statuses = read_candidates(output)
    return RunMeasure("OpenEvolve 0.4.0", in_flight, wall, finished, statuses)
