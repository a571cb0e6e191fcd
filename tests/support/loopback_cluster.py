"""A two-node Ray cluster on 127.0.0.1 (``ray start --head`` and ``ray start --address``).

Used by the two-node test and the scale-out benchmark. Other Ray clusters may run on the
same machine, so this one has its own ports and temporary directory, and is stopped by
signalling exactly its own processes, including the daemons Ray renames.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
PORT_FLAGS = ("--ray-client-server-port", "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
              "--runtime-env-agent-port", "--metrics-export-port", "--node-manager-port", "--object-manager-port")


class ClusterDidNotStart(RuntimeError):
    """``ray start`` failed; the message holds its output."""


class ClusterOutlivedItself(RuntimeError):
    """Processes of the cluster were still alive after it was stopped."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _node_ports() -> list[str]:
    return [item for flag in PORT_FLAGS for item in (flag, str(free_port()))]


def _holds_file_under(pid: str, folder: str) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def cluster_pids(temp_dir: str, gcs_port: int) -> list[int]:
    """Every process of the cluster. Ray renames some daemons (ray::DashboardAgent), which
    overwrites their command line, but they keep their logs open under the temporary
    directory."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if temp_dir in cmdline or ("ray" in cmdline and f"127.0.0.1:{gcs_port}" in cmdline) \
                or _holds_file_under(entry, temp_dir):
            pids.append(int(entry))
    return pids


def _stop(temp_dir: str, gcs_port: int) -> None:
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in cluster_pids(temp_dir, gcs_port):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        while cluster_pids(temp_dir, gcs_port) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextmanager
def two_node_cluster(object_store_mb: int = 100) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield the head's address and the environment a driver should use; 1 CPU per node."""
    temp_dir = tempfile.mkdtemp(prefix="evray-")
    port = free_port()
    env = {**os.environ, **RAY_ENV}
    common = ["--num-cpus", "1", "--object-store-memory", str(object_store_mb * 1024 * 1024),
              "--disable-usage-stats", "--node-ip-address", "127.0.0.1", "--temp-dir", temp_dir]
    try:
        for role in (["--head", "--port", str(port), "--include-dashboard", "false"],
                     ["--address", f"127.0.0.1:{port}"]):
            done = subprocess.run(["ray", "start", *role, *common, *_node_ports()], capture_output=True,
                                  text=True, env=env, timeout=180)
            if done.returncode != 0:
                raise ClusterDidNotStart(f"ray start {' '.join(role)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        yield f"127.0.0.1:{port}", env
    finally:
        _stop(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)
        survivors = cluster_pids(temp_dir, port)
        if survivors:
            raise ClusterOutlivedItself(f"processes {survivors} of the test cluster outlived it")
