"""Ray scale-out: the same run on one Ray node and on a two-node Ray cluster on loopback.

Both set-ups have the same 2 CPUs in all (one node with 2, or two nodes with 1 each, started
with ``ray start --head`` and ``ray start --address`` on 127.0.0.1), so the ratio shows
what spreading the evaluation slots over nodes costs, not extra hardware. The cluster uses
its own ports and temporary directory and is stopped by signalling exactly the processes
that carry them.

    python benchmarks/ray_scaleout.py [--n 120] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs_section import machine_line, write_section  # noqa: E402
from evolve_side import run_evolve  # noqa: E402
from run_measure import RunMeasure, pipeline_limit  # noqa: E402
from scripted_server import free_port, scripted_server  # noqa: E402

PROBLEM = ROOT / "benchmarks" / "problems" / "half_second"
EVALUATION_S = 0.5
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
PORT_FLAGS = ("--ray-client-server-port", "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
              "--runtime-env-agent-port", "--metrics-export-port", "--node-manager-port", "--object-manager-port")


class ClusterDidNotStart(RuntimeError):
    """``ray start`` failed; the message holds its output."""


def _node_ports() -> list[str]:
    return [item for flag in PORT_FLAGS for item in (flag, str(free_port()))]


def _cluster_pids(temp_dir: str, gcs_port: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if temp_dir in cmdline or ("ray" in cmdline and f"127.0.0.1:{gcs_port}" in cmdline):
            pids.append(int(entry))
    return pids


def _stop_cluster(temp_dir: str, gcs_port: int) -> None:
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in _cluster_pids(temp_dir, gcs_port):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        while _cluster_pids(temp_dir, gcs_port) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextmanager
def two_node_cluster() -> Iterator[str]:
    """Yield the address of a head node and one worker node, 1 CPU each, on 127.0.0.1."""
    temp_dir = tempfile.mkdtemp(prefix="evray-")
    port = free_port()
    env = {**os.environ, **RAY_ENV}
    common = ["--num-cpus", "1", "--object-store-memory", str(100 * 1024 * 1024), "--disable-usage-stats",
              "--node-ip-address", "127.0.0.1", "--temp-dir", temp_dir]
    try:
        for role in (["--head", "--port", str(port), "--include-dashboard", "false"],
                     ["--address", f"127.0.0.1:{port}"]):
            done = subprocess.run(["ray", "start", *role, *common, *_node_ports()], capture_output=True,
                                  text=True, env=env, timeout=180)
            if done.returncode != 0:
                raise ClusterDidNotStart(f"ray start {' '.join(role)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
        yield f"127.0.0.1:{port}"
    finally:
        _stop_cluster(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)


def table(one: RunMeasure, two: RunMeasure, limit: float) -> str:
    lines = ["| set-up | candidates | candidates/s steady | efficiency vs limit | wall s | outcomes |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, m in (("one node, 2 CPUs (private local Ray)", one), ("two nodes on loopback, 1 CPU each", two)):
        lines.append(f"| {name} | {m.candidates} | {m.steady_rate:.2f} | {m.steady_rate / limit:.3f} | "
                     f"{m.wall_s:.1f} | {m.status_text()} |")
    lines += ["", f"Ratio two nodes / one node, steady rate: {two.steady_rate / one.steady_rate:.3f}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=120, help="candidates per run")
    parser.add_argument("--in-flight", type=int, default=8, help="K, also the number of evaluation slots")
    parser.add_argument("--latency", type=float, default=1.0, help="model latency L, seconds")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    k = args.in_flight
    with tempfile.TemporaryDirectory(dir=ROOT / "runs") as tmp, scripted_server(args.latency) as api_base:
        one, _ = run_evolve(PROBLEM, api_base, args.n, k, k, Path(tmp) / "one-node")
        print(f"one node: {one.steady_rate:.2f}/s", flush=True)
        with two_node_cluster() as address:
            two, _ = run_evolve(PROBLEM, api_base, args.n, k, k, Path(tmp) / "two-nodes", ray_address=address,
                                env=RAY_ENV)
        print(f"two nodes: {two.steady_rate:.2f}/s", flush=True)
    limit = pipeline_limit(k, args.latency, EVALUATION_S, k)
    text = table(one, two, limit)
    print(text)
    if args.write_docs:
        write_section("Ray scale-out", f"""
The pipeline-efficiency run (L = {args.latency:g} s, E = {EVALUATION_S} s,
benchmarks/problems/half_second, K = W = {k}, {args.n} candidates, 0.25 CPU per slot) once
on a private one-node Ray with 2 CPUs and once with `--ray-address` on a two-node cluster
started on loopback (head and worker, 1 CPU each, so 4 slots per node, placed with
Ray's SPREAD strategy). Same hardware in both: the ratio is the cost of spreading over
nodes (object transfer of the problem bundle, remote actor calls), not a speed-up; a real
second machine adds its cores on top. Limit = min(K / (L + E), W / E) = {limit:.2f}/s.
`python benchmarks/ray_scaleout.py --n {args.n} --in-flight {k} --write-docs`

{machine_line()}

{text}
""")


if __name__ == "__main__":
    main()
