"""A warm local Ray cluster that runs on this machine join instead of starting their own.

Starting Ray takes seconds on a small machine, and a private Ray is started and stopped by
every run. ``evolve cluster up`` starts one with Ray's own ``ray start --head``, which
records its address in Ray's temp folder (``ray_current_cluster``); a run with no
``--ray-address`` joins the cluster named there when it answers, or the one in
``RAY_ADDRESS``, and starts a private Ray otherwise. ``down`` ends only the processes of
that cluster's session, never another run's private Ray (``ray stop`` would end them all).

Exit codes: ``up`` while a cluster answers and ``down`` with none running are refused
with 2 (nothing was done); ``status`` with none running says so and exits 1.

This module imports Ray only inside the commands that talk to the cluster.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from evolve.errors import EvolveError, InputError
from evolve.leftovers import session_processes

DEFAULT_PORT = 6379  # Ray's own default for a head node
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # problems are shipped once per run; runs need little
STOP_GRACE_S = 2.0  # Ray's Python processes end on SIGTERM at once; gcs_server and raylet linger, so they get SIGKILL
REACH_TIMEOUT_S = 0.5


class ClusterRunning(InputError):
    """``up`` found a cluster already answering; starting a second would hide the first."""


class NoCluster(InputError):
    """``down`` found nothing to stop."""


class ClusterError(EvolveError):
    """Ray could not be started, reached or stopped; the message holds Ray's own reason."""


def ray_temp_dir() -> Path:
    """Where Ray keeps its sessions and ``ray_current_cluster``: Ray's rule, RAY_TMPDIR first."""
    base = os.environ.get("RAY_TMPDIR") or (os.environ.get("TMPDIR") if sys.platform.startswith("linux") else None)
    return Path(base or "/tmp") / "ray"


def address_file() -> Path:
    return ray_temp_dir() / "ray_current_cluster"


def answers(address: str, timeout_s: float = REACH_TIMEOUT_S) -> bool:
    """Whether something listens at ``host:port``: a stale address file must not stall a run."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def local_cluster() -> str | None:
    """The address of the cluster ``ray start`` (or ``evolve cluster up``) left running here."""
    try:
        address = address_file().read_text().strip()
    except OSError:
        return None
    return address if address and answers(address) else None


@dataclass(frozen=True)
class RayTarget:
    """What a run's pool joins (None: it starts a private Ray) and the line that says so."""

    address: str | None
    description: str


def run_target(ray_address: str | None) -> RayTarget:
    """``--ray-address`` first, then RAY_ADDRESS, then a live local cluster, else a private Ray.

    A local cluster found through its address file is joined as ``auto``, Ray's name for
    it, so that Ray also applies the cluster's token authentication.
    """
    if ray_address:
        return RayTarget(ray_address, f"Ray: joining the cluster at {ray_address}")
    from_env = os.environ.get("RAY_ADDRESS", "").strip()
    if from_env and from_env != "local":
        return RayTarget(from_env, f"Ray: joining the cluster at {from_env} (RAY_ADDRESS)")
    found = local_cluster()
    if found is not None:
        return RayTarget("auto", f"Ray: joining the local cluster at {found} (evolve cluster status shows it)")
    return RayTarget(None, "Ray: starting a private local Ray (evolve cluster up keeps one warm for every run)")


def cluster_session(address: str) -> str | None:
    """The session name of the cluster at ``address``, if its raylet runs on this machine."""
    flag = f"--gcs-address={address}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if flag in args:
            for arg in args:
                if arg.startswith(b"--session-name="):
                    return arg.split(b"=", 1)[1].decode()
    return None


def shared_session() -> str | None:
    """The session of the live local cluster: processes no driver may end as its leftovers."""
    address = local_cluster()
    return cluster_session(address) if address is not None else None


def start(cpus: int, port: int) -> str:
    """Start a head node with Ray's command line; returns its address."""
    running = local_cluster()
    if running is not None:
        raise ClusterRunning(f"a local Ray cluster is already running at {running}; "
                             "evolve cluster status shows it, evolve cluster down stops it")
    command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", f"--port={port}",
               f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats",
               f"--object-store-memory={OBJECT_STORE_BYTES}"]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    address = local_cluster()
    if done.returncode != 0 or address is None:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise ClusterError(f"ray start failed ({done.returncode}): {lines[-1] if lines else 'no output'}")
    return address


def stop() -> tuple[str, int]:
    """End the processes of the local cluster's session; returns its address and how many."""
    address = local_cluster()
    if address is None:
        address_file().unlink(missing_ok=True)  # a stale file names a cluster that is gone
        raise NoCluster(f"no local Ray cluster is running here ({address_file()} names none that answers); nothing to stop")
    session = cluster_session(address)
    if session is None:
        raise ClusterError(f"the Ray cluster at {address} has no raylet on this machine; stop it where it runs (ray stop)")
    processes = session_processes(session)
    for pid in processes:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and any(_alive(pid) for pid in processes):
        time.sleep(0.1)
    for pid in processes:
        _signal(pid, signal.SIGKILL)
    address_file().unlink(missing_ok=True)
    return address, len(processes)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass(frozen=True)
class ClusterView:
    address: str
    session: str | None
    nodes: int
    total: dict[str, float]
    free: dict[str, float]

    def lines(self) -> list[str]:
        gib = 1024 ** 3

        def amount(key: str) -> str:
            total, free = self.total.get(key, 0.0), self.free.get(key, 0.0)
            if key in ("memory", "object_store_memory"):
                return f"{total / gib:.1f} GiB ({free / gib:.1f} free)"
            return f"{total:g} ({free:g} free)"

        return [f"Ray cluster at {self.address}, session {self.session or 'unknown'}: {self.nodes} node(s) alive",
                f"CPU {amount('CPU')}, GPU {amount('GPU')}, memory {amount('memory')}, "
                f"object store {amount('object_store_memory')}"]


def describe(address: str) -> ClusterView:
    """Connect as a driver for a moment and read what the cluster offers."""
    import logging

    import ray

    from evolve.evaluators.pool import quiet_ray_notices

    quiet_ray_notices()
    try:
        ray.init(address="auto", logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError) as exc:
        raise ClusterError(f"the Ray cluster at {address} did not accept a connection: {exc}") from None
    try:
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        return ClusterView(address, cluster_session(address), nodes, ray.cluster_resources(), ray.available_resources())
    finally:
        ray.shutdown()


cluster_app = typer.Typer(help="Start, stop or show the warm local Ray cluster that runs on this machine join.",
                          no_args_is_help=True)
console = Console(soft_wrap=True)


@cluster_app.command("up")
def up(
    cpus: Optional[int] = typer.Option(None, "--cpus", min=1, help="CPUs the cluster offers (default: this machine's)"),
    port: int = typer.Option(DEFAULT_PORT, "--port", min=0, help="the head node's port (0: any free one)"),
) -> None:
    """Start a local Ray cluster that every run on this machine joins until `evolve cluster down`.

    Example: evolve cluster up --cpus 2
    """
    address = start(cpus or os.cpu_count() or 1, port)
    for line in describe(address).lines():
        console.print(line, highlight=False)
    console.print("runs on this machine now join it; evolve cluster down stops it", highlight=False)


@cluster_app.command("down")
def down() -> None:
    """Stop the local Ray cluster (only its own processes; private Rays of runs are left alone)."""
    address, count = stop()
    console.print(f"stopped the Ray cluster at {address} ({count} processes)", highlight=False)


@cluster_app.command("status")
def status() -> None:
    """Show the local Ray cluster a run would join and the resources it offers; exit 1 when none runs."""
    address = local_cluster()
    if address is None:
        console.print("no local Ray cluster is running; runs start a private Ray (evolve cluster up starts one)",
                      highlight=False)
        raise typer.Exit(1)
    for line in describe(address).lines():
        console.print(line, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``evolve cluster`` to the command line."""
    app.add_typer(cluster_app, name="cluster")
