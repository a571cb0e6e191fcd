"""evolve as a built wheel installed into a fresh virtual environment works like the checkout.

The wheel is built from a copy of the working tree (what git tracks or would track), so the
checkout gets no build/ folder and a stale one cannot leak into the wheel. The environment
sees this machine's packages (``--system-site-packages``) so nothing is downloaded; the
wheel goes in with ``--no-deps``, and every command runs from a folder that is neither.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _tree_copy(target: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _tree_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
                   cwd=source, check=True, capture_output=True, timeout=600)
    (built,) = out.glob("evolve-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Under the temporary folder on purpose: the candidate's sandbox must show an
    # interpreter that lives under /tmp, whose /tmp is otherwise a link to its scratch.
    root = tmp_path_factory.mktemp("venv")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root)], check=True, timeout=300)
        subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                       check=True, capture_output=True, timeout=300)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def installed(venv: Path) -> Path:
    (package,) = (venv / "lib").glob("python3*/site-packages/evolve")
    return package


def evolve(venv: Path, cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(venv / "bin" / "evolve"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"evolve {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_wheel_installs_one_import_name_with_the_problems_and_templates(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.startswith("evolve-")} == {"evolve"}
    (top_level,) = [name for name in names if name.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(top_level).split() == [b"evolve"]
    tracked = subprocess.run(["git", "ls-files", "problems", "prompts"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    shipped = {name.replace("problems/", "evolve/bundled_problems/", 1).replace("prompts/", "evolve/prompt_templates/", 1)
               for name in tracked}
    assert shipped - set(names) == set()
    assert {"evolve/bundled_problems/bin_packing/README.md", "evolve/prompt_templates/diff.j2",
            "evolve/database/migrations/script.py.mako", "evolve/web/templates/base.html",
            "evolve/evaluators/candidate/host.py"} <= set(names)
    assert any(name.startswith("evolve/bundled_problems/bin_packing/data/") for name in names)
    assert any(name.startswith("evolve/bundled_problems/bin_packing/baselines/") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_in_the_environment_evolve_is_the_installed_package_and_nothing_else(venv: Path, tmp_path: Path):
    probe = ("import importlib.util, json, evolve, evolve.database, evolve.evaluators.contract\n"
             "from evolve.resources import BUNDLED_PROBLEMS, INSTALLED, PROMPT_TEMPLATES\n"
             "print(json.dumps({'evolve': evolve.__file__, 'installed': INSTALLED, 'problems': str(BUNDLED_PROBLEMS),\n"
             "  'templates': sorted(p.name for p in PROMPT_TEMPLATES.glob('*.j2')),\n"
             "  'top': [n for n in ('database', 'evaluators', 'problems', 'prompts') if importlib.util.find_spec(n)]}))")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    found = json.loads(done.stdout)
    assert Path(found["evolve"]).is_relative_to(venv)
    assert found["installed"] is True
    assert Path(found["problems"]) == installed(venv) / "bundled_problems"
    assert "diff.j2" in found["templates"] and "system.j2" in found["templates"]
    assert found["top"] == []


def test_problems_lists_the_bundled_problems(venv: Path, tmp_path: Path):
    listed = json.loads(evolve(venv, tmp_path, "problems", "--json").stdout)
    by_name = {problem["name"]: problem for problem in listed}
    assert {"bin_packing", "txn_scheduling", "cant_be_late"} <= set(by_name)
    assert Path(by_name["bin_packing"]["path"]) == installed(venv) / "bundled_problems" / "bin_packing"


def test_eval_scores_a_bundled_baseline_on_the_test_split(venv: Path, tmp_path: Path):
    baseline = installed(venv) / "bundled_problems" / "bin_packing" / "baselines" / "first_fit.py"
    result = json.loads(evolve(venv, tmp_path, "eval", "bin_packing", str(baseline), "--split", "test", "--json").stdout)
    assert result["status"] == "ok"
    assert -10 < result["score"] < 0  # minus the excess over the L1 bound, in percent


def test_a_short_offline_run_finishes_and_is_browsable(venv: Path, tmp_path: Path):
    out = evolve(venv, tmp_path, "run", "bin_packing", "-n", "3", "-k", "1", "--seed", "1").stdout
    assert "stopped: iterations; 3 candidates" in out
    assert (tmp_path / "runs" / "evolve.db").is_file()
    runs = evolve(venv, tmp_path, "runs").stdout.splitlines()
    assert runs[1].split("\t")[1:4] == ["bin_packing-1", "bin_packing", "finished"]
    assert "def priority" in evolve(venv, tmp_path, "best", "latest").stdout


def test_a_users_problem_with_its_own_template_runs_by_name_from_the_working_directory(venv: Path, tmp_path: Path):
    created = evolve(venv, tmp_path, "new-problem", "mine").stdout
    root = tmp_path / "problems" / "mine"
    assert (root / "problem.yaml").is_file()
    assert not (installed(venv) / "bundled_problems" / "mine").exists()
    assert "evolve run problems/mine" in created
    (root / "prompts").mkdir()
    (root / "prompts" / "system.j2").write_text("You schedule jobs for the mine problem (its own system prompt).\n")
    evolve(venv, tmp_path, "run", "mine", "-n", "2", "-k", "1", "--seed", "2")  # the scaffold README's command
    messages = json.loads(evolve(venv, tmp_path, "prompt", "latest", "1", "--mode", "diff", "--json").stdout)["messages"]
    assert messages[0] == {"role": "system", "content": "You schedule jobs for the mine problem (its own system prompt).\n"}
    assert "EVOLVE-BLOCK" in messages[1]["content"]  # the bundled diff template, around the user's seed


SMALL_RUN = """
import sys
from evolve.database import ArchiveSettings, NewProgram, ProgramDatabase
db = ProgramDatabase(sys.argv[1])
run = db.create_run("shown", "toy", {}, seed=0)
db.archive(run.id, ArchiveSettings(), seed=0).record(NewProgram(None, 0, 0, "x = 0\\n", "seed", "ok", score=0.0))
db.close()
"""


def test_the_web_ui_serves_its_pages_and_static_files(venv: Path, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    subprocess.run([str(venv / "bin" / "python"), "-c", SMALL_RUN, url], cwd=tmp_path, check=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(venv / "bin" / "evolve"), "ui", "--db", url, "--port", str(port)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, page = time.monotonic() + 60, None
        while page is None and time.monotonic() < deadline and server.poll() is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
            except OSError:
                time.sleep(0.2)
        assert page is not None, server.stderr.read().decode() if server.poll() is not None else "no answer in 60 s"
        assert "shown" in page
        style = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/style.css", timeout=5)
        assert style.status == 200 and style.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
