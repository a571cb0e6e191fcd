"""Two Ray nodes on loopback (``ray start --head`` and ``ray start --address``): slots spread over both.

Other Ray clusters may run on this machine, so this one uses its own ports and temporary
directory and is stopped by killing exactly the processes that carry them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DRIVER = textwrap.dedent(
    """\
    import asyncio, json, sys
    from evaluators.pool import EvaluationPool
    from evaluators.problem import load_problem

    problem = load_problem(sys.argv[1])
    pool = EvaluationPool(problem, slots=2, ray_address=sys.argv[2])

    async def main():
        codes = [problem.seed_code.replace("return x", f"return x + {i}") for i in range(8)]
        return await asyncio.gather(*(pool.evaluate(code) for code in codes))

    results = asyncio.run(main())
    print("RESULT " + json.dumps({"nodes": pool.nodes(), "results": [r.to_dict() for r in results]}))
    pool.close()
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_ports() -> list[str]:
    flags = ["--ray-client-server-port", "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
             "--runtime-env-agent-port", "--metrics-export-port", "--node-manager-port", "--object-manager-port"]
    return [item for flag in flags for item in (flag, str(free_port()))]


MARKER = "EVOLVE_TEST_RAY_CLUSTER"


def _holds_file_under(pid: str, folder: str) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def cluster_pids(temp_dir: str, gcs_port: int) -> list[int]:
    """Every process of this cluster. Ray renames some daemons (ray::DashboardAgent), which
    overwrites their command line and environment, but they keep their logs open under
    the cluster's temporary directory."""
    tag = f"{MARKER}={temp_dir}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if (tag in environ or temp_dir in cmdline or ("ray" in cmdline and f"127.0.0.1:{gcs_port}" in cmdline)
                or _holds_file_under(entry, temp_dir)):
            pids.append(int(entry))
    return pids


def stop_cluster(temp_dir: str, gcs_port: int) -> None:
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in cluster_pids(temp_dir, gcs_port):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        while cluster_pids(temp_dir, gcs_port) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture
def two_node_cluster() -> Iterator[tuple[str, dict[str, str]]]:
    temp_dir = tempfile.mkdtemp(prefix="evray-")
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", MARKER: temp_dir}
    common = ["--num-cpus", "1", "--object-store-memory", str(80 * 1024 * 1024), "--disable-usage-stats",
              "--node-ip-address", "127.0.0.1", "--temp-dir", temp_dir]
    try:
        subprocess.run(["ray", "start", "--head", "--port", str(port), "--include-dashboard", "false",
                        *common, *node_ports()], check=True, capture_output=True, env=env, timeout=180)
        subprocess.run(["ray", "start", "--address", f"127.0.0.1:{port}", *common, *node_ports()],
                       check=True, capture_output=True, env=env, timeout=180)
        yield f"127.0.0.1:{port}", env
    finally:
        stop_cluster(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not cluster_pids(temp_dir, port), "processes of the test cluster outlived it"


@pytest.mark.slow
def test_candidates_are_evaluated_on_both_nodes(two_node_cluster, tiny_problem):
    address, env = two_node_cluster
    problem = tiny_problem()
    run = subprocess.run([sys.executable, "-c", DRIVER, str(problem.root), address], capture_output=True,
                         text=True, env=env, timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stderr[-3000:]
    report = json.loads(lines[0][len("RESULT "):])
    node_ids = {node.split("@")[0] for node in report["nodes"]}
    assert len(node_ids) == 2
    results = report["results"]
    assert [r["status"] for r in results] == ["ok"] * 8
    assert [r["score"] for r in results] == [2.0 + i for i in range(8)]
    assert {r["node"].split("@")[0] for r in results} == node_ids
