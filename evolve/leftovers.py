"""What a killed driver leaves behind on its machine: the processes of its private Ray.

A driver killed with ``kill -9`` cannot shut its local Ray down, and Ray's dashboard and
agent processes outlive it for a minute or two. The driver starts its private Ray in a
folder of its own and notes that folder on the run's lease before Ray starts (a run's
first candidates are scored while Ray starts, so a kill can come at any moment); the
driver that takes the lease over on the same machine ends the processes of that folder
before it starts its own. A shared cluster (``evolve cluster
up``) is never a leftover: its session is not noted, and a noted session that turns out
to be the live local cluster's is left alone.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
from pathlib import Path
from typing import Any

from rich.console import Console


def private_ray_folder() -> str:
    """A Ray temp folder for this driver alone, in Ray's own (RAY_TMPDIR): short, because
    Ray's socket paths under it must fit in 107 bytes, and never reused by a later process."""
    from evolve.cluster import ray_temp_dir

    return str(ray_temp_dir() / f"d{os.getpid()}-{secrets.token_hex(2)}")


def session_processes(session: str) -> list[int]:
    """Processes whose command line names ``session``: a Ray session's name or folder, or the
    temp folder a private Ray was started in (gcs, raylet, dashboard, agents, workers)."""
    name = str(session)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if name.encode() in command:
            found.append(int(entry.name))
    return found


def clear_ray_leftovers(holder: Any, console: Console) -> int:
    """End what the previous holder's Ray left running here; returns how many processes."""
    if not holder.ray_session or holder.host != socket.gethostname() or not Path("/proc").is_dir():
        return 0
    from evolve.cluster import shared_session

    if Path(holder.ray_session).name == shared_session():
        return 0
    ended = 0
    for pid in session_processes(holder.ray_session):
        try:
            os.kill(pid, signal.SIGKILL)
            ended += 1
        except (ProcessLookupError, PermissionError):
            continue
    if ended:
        console.print(f"ended {ended} process(es) the previous driver's Ray left running", highlight=False)
    return ended
