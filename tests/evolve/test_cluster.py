"""evolve cluster up / status / down, and runs that join the warm cluster or start their own.

Each test gets its own Ray temp folder (RAY_TMPDIR) and a free port, so it never meets a
cluster or a private Ray of anything else on the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evolve.database.lease import Holder
from evolve.leftovers import clear_ray_leftovers, session_processes

REPO = Path(__file__).resolve().parents[2]
INSTANT = REPO / "benchmarks" / "problems" / "instant"
READY = re.compile(r"evaluation pool ready after [\d.]+ s \((\d+) slots on Ray\); (\d+) evaluation\(s\) done meanwhile")
LOCAL_ONLY = re.compile(r"all (\d+) evaluation\(s\) done in a local sandbox; the Ray pool was still starting")


@pytest.fixture
def ray_env() -> Iterator[dict[str, str]]:
    """A private Ray temp folder (short: Ray's socket paths must fit in 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="evc", dir="/tmp")
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = folder
    try:
        yield env
    finally:
        evolve(env, "cluster", "down")
        for session in sessions(env):
            for pid in session_processes(session):
                with_pid_gone(pid)
        shutil.rmtree(folder, ignore_errors=True)


def with_pid_gone(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def sessions(env: dict[str, str]) -> set[str]:
    """Every Ray session started under this temp folder: a cluster's, and each private Ray's (in its driver's folder)."""
    return {str(p) for p in (Path(env["RAY_TMPDIR"]) / "ray").rglob("session_2*")}


def evolve(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def problem_with_test_split(tmp_path: Path) -> Path:
    root = tmp_path / "instant"
    shutil.copytree(INSTANT, root, ignore=shutil.ignore_patterns("openevolve", "__pycache__"))
    yaml = (root / "problem.yaml").read_text()
    (root / "problem.yaml").write_text(yaml.replace('splits: {train: "one call of value()"}',
                                                    'splits: {train: "one call of value()", test: "the same call"}'))
    return root


def run(env: dict[str, str], problem: Path, db: Path, n: int = 6) -> subprocess.CompletedProcess:
    done = evolve(env, "run", str(problem), "-n", str(n), "-k", "2", "--seed", "0", "--db", f"sqlite:///{db}")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def scored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        total = conn.execute("SELECT COUNT(*) FROM programs").fetchone()[0]
        tested = conn.execute("SELECT COUNT(*) FROM programs WHERE test_score IS NOT NULL").fetchone()[0]
    return total, tested


@pytest.mark.slow
def test_cluster_up_is_joined_by_runs_and_down_stops_only_it(ray_env: dict[str, str], problem_with_test_split: Path,
                                                               tmp_path: Path) -> None:
    none = evolve(ray_env, "cluster", "status")
    assert none.returncode == 1 and "no local Ray cluster is running" in none.stdout
    nothing = evolve(ray_env, "cluster", "down")
    assert nothing.returncode == 2 and "nothing to stop" in nothing.stderr

    up = evolve(ray_env, "cluster", "up", "--cpus", "2", "--port", str(free_port()))
    assert up.returncode == 0, up.stdout + up.stderr
    assert "CPU 2 (2 free)" in up.stdout and "1 node(s) alive" in up.stdout
    address = re.search(r"Ray cluster at (\S+),", up.stdout).group(1)
    again = evolve(ray_env, "cluster", "up", "--port", str(free_port()))
    assert again.returncode == 2 and f"already running at {address}" in again.stderr
    status = evolve(ray_env, "cluster", "status")
    assert status.returncode == 0 and address in status.stdout and "CPU 2" in status.stdout
    (cluster_session,) = sessions(ray_env)

    warm = run(ray_env, problem_with_test_split, tmp_path / "warm.db")
    assert f"joining the local cluster at {address}" in warm.stdout
    assert sessions(ray_env) == {cluster_session}, "the run started a Ray of its own"
    ready, unready = READY.search(warm.stdout), LOCAL_ONLY.search(warm.stdout)
    assert (ready is None) != (unready is None), warm.stdout
    assert ready is None or int(ready.group(1)) == 2
    assert warm.stdout.count("Ray: ") == 1 and "scoring 2 programs" in warm.stdout
    total, tested = scored(tmp_path / "warm.db")
    assert total == 7 and tested >= 2  # the seed and the best, scored by the run's own pool

    # More slots than the cluster has CPUs for: refused in one line, not a wait for CPUs that never come free.
    greedy = problem_with_test_split.parent / "greedy"
    shutil.copytree(problem_with_test_split, greedy)
    (greedy / "problem.yaml").write_text((greedy / "problem.yaml").read_text().replace("cpus: 0.25", "cpus: 1"))
    refused = evolve(ray_env, "run", str(greedy), "-n", "50", "-k", "3", "--db", f"sqlite:///{tmp_path}/greedy.db")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "need 3 CPUs, but the Ray cluster offers 2" in refused.stderr and "Traceback" not in refused.stderr

    # The shared cluster outlives the run and is no leftover of any driver.
    assert evolve(ray_env, "cluster", "status").returncode == 0
    holder = Holder("t", socket.gethostname(), 1, time.time(), 0.0, None, cluster_session)
    os.environ["RAY_TMPDIR"], saved = ray_env["RAY_TMPDIR"], os.environ.get("RAY_TMPDIR")
    try:
        assert clear_ray_leftovers(holder, console=None) == 0
    finally:
        os.environ.pop("RAY_TMPDIR") if saved is None else os.environ.__setitem__("RAY_TMPDIR", saved)
    assert session_processes(cluster_session)

    down = evolve(ray_env, "cluster", "down")
    assert down.returncode == 0 and f"stopped the Ray cluster at {address}" in down.stdout
    assert not session_processes(cluster_session)
    assert evolve(ray_env, "cluster", "status").returncode == 1


@pytest.mark.slow
def test_without_a_cluster_a_run_starts_its_own_and_scores_the_seed_while_it_starts(
        ray_env: dict[str, str], problem_with_test_split: Path, tmp_path: Path) -> None:
    cold = run(ray_env, problem_with_test_split, tmp_path / "cold.db")
    assert "starting a private local Ray" in cold.stdout
    assert len(sessions(ray_env)) == 1
    # A private Ray takes seconds to start; the seed (at least) went through the local sandbox meanwhile,
    # and a run this short may finish before Ray is ready at all.
    ready, unready = READY.search(cold.stdout), LOCAL_ONLY.search(cold.stdout)
    assert (ready is None) != (unready is None), cold.stdout
    assert int((ready or unready).group(2 if ready else 1)) >= 1
    assert cold.stdout.count("Ray: ") == 1 and "scoring 2 programs" in cold.stdout
    total, tested = scored(tmp_path / "cold.db")
    assert total == 7 and tested >= 2
    (session,) = sessions(ray_env)
    assert not session_processes(session), "the run left its private Ray running"
