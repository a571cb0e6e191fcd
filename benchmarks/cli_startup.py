"""How long the ``evolve`` command takes to answer: ``--help`` and the browsing commands.

Each command runs N times in a fresh interpreter against a small real database (a finished
run of three programs written through the database API), as a user runs it; the table shows
the median and the fastest wall time, next to a bare interpreter's start for scale (for
``evolve ui``, the time until it has served its first page). The import profile
(``python -X importtime``) of one browsing command names what the rest costs.
``--baseline PYTHON`` times another installation of evolve (an interpreter whose environment
holds, say, an older wheel) the same way, side by side.

    python benchmarks/cli_startup.py [--repeats 7] [--baseline PYTHON] [--write-docs]
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.docs_section import machine_line, write_section  # noqa: E402

PROFILED = ("show", "latest")
GOALS = {"--help": 0.5, "runs": 1.0, "show latest": 1.0, "best latest": 1.0}
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| +(\S+)$")


SMALL_RUN = """
import sys
from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase

db = ProgramDatabase(sys.argv[1])
settings = ArchiveSettings(num_islands=2)
run = db.create_run("startup", "toy", {"archive": settings.model_dump()}, seed=0)
archive = db.archive(run.id, settings, seed=0)
seed = archive.record(NewProgram(None, 0, 0, "x = 0\\n", "seed", "ok", score=0.0))
child = archive.record(NewProgram(seed.id, 0, 1, "x = 2\\n", "diff", "ok", score=2.0, diff="-x = 0\\n+x = 2"))
archive.record(NewProgram(child.id, 1, 2, "", "diff", "error", error="edit did not apply"))
db.set_run_status(run.id, "finished")
db.close()
"""


def small_database(python: str, folder: Path) -> str:
    """Written by the installation under test, so its schema is the one that installation knows."""
    url = f"sqlite:///{folder / 'runs.db'}"
    subprocess.run([python, "-c", SMALL_RUN, url], cwd=folder, check=True)
    return url


UI = "ui (first page)"


def commands(python: str, url: str) -> dict[str, list[str]]:
    evolve = [python, "-m", "evolve.cli"]
    timed = {"python -c pass": [python, "-c", "pass"]}
    timed.update({name: [*evolve, *name.split(), *([] if name == "--help" else ["--db", url])] for name in GOALS})
    timed[UI] = [*evolve, "ui", "--db", url]
    return timed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_page(argv: list[str], cwd: Path) -> None:
    """Start the web UI and return once it has served its first page."""
    port = _free_port()
    server = subprocess.Popen([*argv, "--port", str(port)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{' '.join(argv)} exited {server.returncode} before serving a page")
    finally:
        server.terminate()
        server.wait(timeout=30)


def wall_times(installs: dict[str, tuple[dict[str, list[str]], Path]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Each installation's commands in turn, round after round, so a busy spell on a shared
    machine slows both alike."""
    times: dict[str, dict[str, list[float]]] = {label: defaultdict(list) for label in installs}
    for _ in range(repeats):
        for label, (timed, cwd) in installs.items():
            for name, argv in timed.items():
                started = time.perf_counter()
                if name == UI:
                    first_page(argv, cwd)
                else:
                    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[label][name].append(time.perf_counter() - started)
    return times


def import_profile(argv: list[str], cwd: Path, top: int = 10) -> list[tuple[str, float]]:
    """Seconds of import per top-level package (each module's own time, under its package's name), largest first."""
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, capture_output=True, text=True, check=True)
    per_package: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            per_package[match.group(2).split(".")[0]] += int(match.group(1)) / 1e6
    return sorted(per_package.items(), key=lambda item: -item[1])[:top]


def _cells(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} | {min(times):.2f}"


def _profile_table(profile: list[tuple[str, float]]) -> str:
    return "| package | s |\n| --- | --- |\n" + "\n".join(f"| {name} | {seconds:.3f} |" for name, seconds in profile) + "\n"


def report(times: dict[str, dict[str, list[float]]], profiles: dict[str, list[tuple[str, float]]], repeats: int) -> str:
    labels = list(times)
    header = "| command | " + " | ".join(f"{label} median s | {label} fastest s" for label in labels) + " | goal s |"
    rows = [header, "|" + " --- |" * (header.count("|") - 1)]
    for name in times[labels[0]]:
        goal = GOALS.get(name)
        cells = " | ".join(_cells(times[label][name]) for label in labels)
        rows.append(f"| `{name}` | {cells} | {'-' if goal is None else f'< {goal:g}'} |")
    body = (
        f"Wall time of each command in a fresh interpreter (`python -m evolve.cli ...`), {repeats} runs each, "
        "against a small SQLite database; `python -c pass` is the interpreter's own start. "
        f"`python benchmarks/cli_startup.py{' --baseline PYTHON --baseline-name NAME' if len(labels) > 1 else ''} --write-docs`. "
        + machine_line() + "\n\n" + "\n".join(rows) + "\n\n"
        "A command loads what it uses when it runs: `--help` loads typer and rich only; a browsing command adds "
        "SQLAlchemy (engine and ORM, to read the database), typer's parameter adapters (pydantic) and the "
        "database layer, but not Ray, litellm, FastAPI, the sandbox or evaluation pool, or Alembic (loaded only when "
        "a schema must migrate); `evolve ui` adds FastAPI and uvicorn. `tests/evolve/test_cli_imports.py` holds each "
        "command to that.\n"
    )
    for label, profile in profiles.items():
        body += (f"\nImport profile of `evolve {' '.join(PROFILED)}`, {label} (`python -X importtime`; each module's "
                 "own time, summed per top-level package):\n\n" + _profile_table(profile))
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each command")
    parser.add_argument("--baseline", help="an interpreter whose environment holds another evolve, timed alongside")
    parser.add_argument("--baseline-name", default="baseline", help="what the baseline is, for the table's columns")
    parser.add_argument("--write-docs", action="store_true", help="replace the CLI start-up section of docs/benchmarks.md")
    args = parser.parse_args()
    pythons = {args.baseline_name: args.baseline} if args.baseline else {}
    pythons["this tree"] = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        installs, profiles = {}, {}
        for label, python in pythons.items():
            folder = Path(tmp) / f"install{len(installs)}"
            folder.mkdir()
            url = small_database(python, folder)
            installs[label] = (commands(python, url), folder)
            profiles[label] = import_profile([python, "-m", "evolve.cli", *PROFILED, "--db", url], folder)
        body = report(wall_times(installs, args.repeats), profiles, args.repeats)
    print(body)
    if args.write_docs:
        write_section("CLI start-up", body)


if __name__ == "__main__":
    main()
