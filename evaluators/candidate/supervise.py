"""Forking, confining and reaping one child per evaluation, for both fork servers.

The scorer's server (evaluators.forkserver) and the candidate's (evaluators.candidate.host)
each fork a warm child per stage; the rules for limits, wall clock and escaped daemons
are the same for both, so they live here, in the package the candidate's sandbox can see.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import select
import signal
import sys
import time
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000


def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def become_server() -> None:
    """Reap orphans, die with the harness, and refuse ptrace from the children."""
    c = libc()
    c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    c.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    c.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def isolate_network() -> bool:
    """Leave the host's network namespace; children inherit a namespace with no way out."""
    c = libc()
    if c.unshare(CLONE_NEWNET) == 0:
        return True
    return c.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0


def enter_child(fds: list[int], workdir: str, env: dict[str, str]) -> None:
    """In a freshly forked child: own session, stdio on the given pipes, clean cwd and env."""
    out_fd, err_fd = fds
    libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    for fd in (devnull, out_fd, err_fd):
        os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(env)


def apply_limits(limits: dict[str, Any], nproc_base: int | None) -> None:
    mb = 1024 * 1024
    cpu = math.ceil(limits["timeout_s"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["max_file_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["max_open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits["gpus"] == 0:  # GPU runtimes reserve far more address space than they use
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    if nproc_base is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc_base + limits["max_procs"],) * 2)


def flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _living_children() -> bool:
    """Reap zombies; True while some child still runs."""
    try:
        while os.waitpid(-1, os.WNOHANG) != (0, 0):
            pass
    except ChildProcessError:
        return False
    return True


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def sweep() -> int:
    """Kill every process left under this server (it is their subreaper); return how many."""
    killed = 0
    deadline = time.monotonic() + 2.0
    while _living_children() and time.monotonic() < deadline:
        for pid in _children_of(os.getpid()):
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.002)
    return killed


def kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass


def supervise(pid: int, timeout_s: float, started: float, stop_fd: int | None = None) -> dict[str, Any]:
    """Wait for the child, its wall clock, or (when given) a readable ``stop_fd``; then reap all."""
    pidfd = os.pidfd_open(pid)
    watched = [pidfd] + ([stop_fd] if stop_fd is not None else [])
    try:
        ready, _, _ = select.select(watched, [], [], max(0.0, started + timeout_s - time.monotonic()))
    finally:
        os.close(pidfd)
    timed_out = not ready
    stopped = stop_fd is not None and stop_fd in ready and pidfd not in ready
    if timed_out or stopped:
        kill_group(pid)
    _, status, usage = os.wait4(pid, 0)
    return {
        "timed_out": timed_out,
        "stopped": stopped,
        "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "wall_s": time.monotonic() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "escaped": sweep(),
    }


def nproc_base() -> int | None:
    """RLIMIT_NPROC counts all of a user's tasks and does not bind root: add to what runs now."""
    if os.getuid() == 0:
        return None
    uid = str(os.getuid())
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/status") as handle:
                    status = handle.read()
            except OSError:
                continue
            if f"\nUid:\t{uid}\t" in status:
                count += int(status.split("Threads:\t", 1)[1].split("\n", 1)[0])
    return count
