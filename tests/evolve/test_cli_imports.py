"""Each command loads only what it uses: browsing a SQLite run never starts Ray, litellm, FastAPI,
psycopg or the evaluators, and the web UI never Ray or litellm.

Each command runs in a fresh interpreter against a real small database, as a user runs it,
and that interpreter reports the modules it ended with.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.browsing_run import write_browsing_run

REPO = Path(__file__).resolve().parents[2]
NEVER_WHEN_BROWSING = ("ray", "litellm", "fastapi", "uvicorn", "alembic", "psycopg", "evolve.evaluators",
                       "evolve.launch")
NEVER_IN_THE_UI = ("ray", "litellm", "evolve.evaluators", "evolve.launch")
# All that browsing takes from the evaluators: the stage record the database stores (and
# the package that holds it). No problem loader, sandbox, pool, channel or Ray.
RECORD_TYPES = ("evolve.evaluators", "evolve.evaluators.result")

RUN_COMMAND = """
import json, sys
from evolve.cli import app
report, args = sys.argv[1], sys.argv[2:]
try:
    app(args, prog_name="evolve")
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
with open(report, "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

# The UI blocks serving; once it has answered a page, its modules are reported and it stops.
SERVE_UI = """
import json, os, sys, threading, time, urllib.request
from evolve.cli import app
report, port, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def watch():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    else:
        page = ""
    with open(report, "w") as out:
        json.dump({"code": 0, "page": page, "modules": sorted(sys.modules)}, out)
    os._exit(0)

threading.Thread(target=watch, daemon=True).start()
app([*args, "--port", port], prog_name="evolve")
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    return write_browsing_run(tmp_path_factory.mktemp("imports"), "small")


def run_command(script: str, tmp_path: Path, *args: str) -> tuple[dict, str]:
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(report), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert report.exists(), done.stderr
    return json.loads(report.read_text()), done.stdout


def loaded(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m not in RECORD_TYPES and any(m == f or m.startswith(f + ".") for f in forbidden)]


def test_help_loads_no_database_layer_and_lists_every_command(tmp_path: Path):
    result, out = run_command(RUN_COMMAND, tmp_path, "--help")
    assert result["code"] == 0
    assert loaded(result["modules"], (*NEVER_WHEN_BROWSING, "sqlalchemy", "pydantic", "yaml")) == []
    for command in ("run", "resume", "eval", "runs", "show", "best", "ui", "import", "cluster"):
        assert f" {command} " in out


@pytest.mark.parametrize("args, expected", [
    (["runs"], "small"),
    (["show", "latest"], "best so far"),
    (["best", "small"], "x = 2"),
    (["program", "{child}"], "program {child} of run"),
    (["lineage", "{child}"], "== program {seed}"),
    (["diff", "{seed}", "{child}"], "+x = 2"),
    (["export", "latest", "--format", "csv"], "code_hash"),
])
def test_a_browsing_command_loads_neither_ray_nor_models_nor_evaluators(small_run, tmp_path: Path, args, expected):
    url, ids = small_run
    result, out = run_command(RUN_COMMAND, tmp_path, *[a.format(**ids) for a in args], "--db", url)
    assert result["code"] == 0, out
    assert expected.format(**ids) in out
    assert loaded(result["modules"], NEVER_WHEN_BROWSING) == []


def test_the_web_ui_serves_a_page_without_ray_or_models(small_run, tmp_path: Path):
    url, _ = small_run
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    result, _ = run_command(SERVE_UI, tmp_path, port, "ui", "--db", url)
    assert "small" in result["page"]
    assert "fastapi" in result["modules"]
    assert loaded(result["modules"], NEVER_IN_THE_UI) == []


@pytest.mark.parametrize("command, module, shown", [
    ("import", "evolve.openevolve_import", "--output"),
    ("cluster", "evolve.cluster", "status"),
])
def test_a_lazy_command_loads_its_module_only_when_asked(tmp_path: Path, command: str, module: str, shown: str):
    result, out = run_command(RUN_COMMAND, tmp_path, command, "--help")
    assert result["code"] == 0
    assert shown in out
    assert module in result["modules"]
    assert loaded(result["modules"], ("ray", "litellm")) == []
    listed, _ = run_command(RUN_COMMAND, tmp_path, "--help")
    assert module not in listed["modules"]
