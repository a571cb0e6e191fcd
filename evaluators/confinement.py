"""What walls a sandboxed evaluation gets from this machine, decided once per fork server.

Three layers, each used where the machine allows it and announced once where it does not:
bubblewrap (read-only file system, own /proc and PID namespace, no network), a pids cgroup
(caps fork bombs even for root, whom RLIMIT_NPROC does not bind), and a scrubbed
environment built from an allow-list.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from evolve.resources import INSTALLED, PACKAGE_PARENT

log = logging.getLogger(__name__)

# Only these variables reach a candidate; anything naming a secret is dropped even if listed.
ENV_ALLOW = (
    "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "TERM",
    "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "TRITON_CACHE_DIR",
)
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE)
# Directories a candidate must not see even read-only: other users' temporary files, the
# home directory with its dotfiles, shared memory of other processes.
HIDDEN_DIRS = ("/tmp", "/var/tmp", "/run/user", "/dev/shm")

# The framework must stay importable inside the sandbox. Run from a checkout, only its code
# folders are shown (evolve/, and database/ and evaluators/, which an editable install maps
# into evolve): the checkout may hold .env files and the runs database. Installed, the
# folder holding the package is shown (site-packages, or a pip --target folder), which the
# interpreter's paths show anyway.
FROM_CHECKOUT = not INSTALLED
FRAMEWORK_ROOT = str(PACKAGE_PARENT)
FRAMEWORK_CODE = [str(PACKAGE_PARENT / name) for name in ("evolve", "database", "evaluators")] \
    if FROM_CHECKOUT else [FRAMEWORK_ROOT]

_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """A missing protection is logged once per process, not once per candidate."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def remove_stale(directory: Path, prefix: str) -> None:
    """Remove ``prefix-PID-*`` entries whose owning process is gone (it was killed, not closed)."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        owner = entry.name[len(prefix):].split("-", 1)[0]
        if entry.name.startswith(prefix) and owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            if entry.is_dir() and (entry / "cgroup.procs").exists():
                try:
                    entry.rmdir()
                except OSError:
                    pass
            else:
                shutil.rmtree(entry, ignore_errors=True)


def scrubbed_env(cpus: float) -> dict[str, str]:
    """The environment a fork server (and thus every candidate) starts from."""
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW and not SECRET_NAME.search(k)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    threads = str(max(1, int(cpus)))
    env.update(
        OMP_NUM_THREADS=threads,
        OPENBLAS_NUM_THREADS=threads,
        MKL_NUM_THREADS=threads,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        PYTHONPATH=FRAMEWORK_ROOT,
    )
    return env


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def _python_paths() -> list[str]:
    """Paths the interpreter needs, so they can be re-exposed under hidden directories."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)}
    paths.update(os.path.abspath(p) for p in sys.path if p)
    paths.discard(FRAMEWORK_ROOT)
    paths.update(FRAMEWORK_CODE)
    return sorted(p for p in paths if os.path.exists(p))


def bwrap_command(visible_ro: list[Path], visible_rw: list[Path], gpus: float) -> list[str]:
    """A bubblewrap prefix: read-only root, private /tmp and home, no network, own PID namespace.

    Hidden directories become empty; the interpreter's paths inside them are shown again.

    Capabilities are dropped, so a candidate running as root cannot remount its way out.
    """
    hidden = [d for d in HIDDEN_DIRS if os.path.isdir(d)]
    home = os.path.expanduser("~")
    if home not in ("/", "") and os.path.isdir(home):
        hidden.append(home)
    if FROM_CHECKOUT:
        hidden.append(FRAMEWORK_ROOT)
    cmd = [
        "bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--new-session", "--cap-drop", "ALL", "--ro-bind", "/", "/",
    ]
    cmd += ["--dev-bind", "/dev", "/dev"] if gpus > 0 else ["--dev", "/dev"]
    cmd += ["--proc", "/proc"]
    for directory in hidden:
        cmd += ["--tmpfs", directory]
    for path in _python_paths():
        if any(path == d or path.startswith(d.rstrip("/") + "/") for d in hidden):
            cmd += ["--ro-bind", path, path]
    for path in visible_ro:
        cmd += ["--ro-bind", str(path), str(path)]
    for path in visible_rw:
        cmd += ["--bind", str(path), str(path)]
    return cmd


def probe_bwrap() -> bool:
    """bwrap may be installed yet unable to make namespaces (containers without user namespaces)."""
    if not bwrap_available():
        warn_once("bwrap", "bubblewrap (apt package 'bubblewrap') is not installed: candidates see the "
                  "file system and /proc of this machine; install it for a read-only, private view")
        return False
    import subprocess

    probe = subprocess.run(bwrap_command([], [], 0) + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        warn_once("bwrap", f"bubblewrap cannot create namespaces here ({probe.stderr.strip()}); "
                  "candidates run without a private file system view")
        return False
    return True


@dataclass
class PidsCgroup:
    """A pids cgroup holding one fork server and everything it forks."""

    path: Path

    @classmethod
    def create(cls, max_tasks: int) -> "PidsCgroup | None":
        for base in _pids_hierarchies():
            remove_stale(base, "evolve-sandbox-")
            path = base / f"evolve-sandbox-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                path.mkdir()
            except OSError:
                continue
            group = cls(path)
            try:
                (path / "pids.max").write_text(str(max_tasks))
            except OSError:
                group.remove()
                continue
            return group
        warn_once("cgroup", "no writable pids cgroup: fork bombs are bounded only by RLIMIT_NPROC, "
                  "which does not apply to root")
        return None

    def join(self) -> None:
        """Move the calling process in; used between fork and exec of the fork server."""
        (self.path / "cgroup.procs").write_text("0")

    def kill_all(self) -> None:
        """SIGKILL whatever is still inside (escaped daemons of a dead fork server)."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            pids = [int(p) for p in _read(str(self.path / "cgroup.procs")).split()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass


def _pids_hierarchies() -> list[Path]:
    bases = []
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        bases.append(v1)
    unified = Path("/sys/fs/cgroup")
    own = next((line.split("::", 1)[1] for line in _read("/proc/self/cgroup").splitlines() if line.startswith("0::")), None)
    if own is not None:
        mine = unified / own.strip().lstrip("/")
        if "pids" in _read(str(mine / "cgroup.subtree_control")).split():
            bases.append(mine)
    return [b for b in bases if os.access(b, os.W_OK)]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
