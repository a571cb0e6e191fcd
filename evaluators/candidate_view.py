"""What the candidate's process can see: an allow-list, not a deny-list.

The candidate's sandbox starts from an empty root and is shown only the operating system's
libraries, the Python runtime (standard library) and the installed packages the problem
allows (with their dependencies), its own program, the problem's declared public modules,
the framework's candidate-side package and a private scratch folder of bounded size.
Nothing else exists there: not the problem's data, evaluator or test split, not the
launch folder and its .env, not other runs, not sockets, not /etc/shadow.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import site
import sys
from collections.abc import Iterator
from pathlib import Path

HOST_PACKAGE = Path(__file__).resolve().parent / "candidate"
INSIDE_ROOT = "/opt/evolve"  # framework package, public modules and the program, read-only
SCRATCH = "/scratch"  # the candidate's writable, size-limited tmpfs
SYSTEM_DIRS = ("/usr", "/etc/alternatives")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/hosts")
ROOT_LINKS = ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")
NOBODY = 65534


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    """Dependencies a package needs at import (extras left out)."""
    names = []
    for requirement in dist.requires or []:
        if "extra ==" in requirement.replace(" ", " "):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if match:
            names.append(match.group(0))
    return names


def package_paths(packages: list[str]) -> list[Path]:
    """Every top-level file and folder the allowed installed packages (and their deps) consist of."""
    installed = {_normalise(d.metadata["Name"] or ""): d for d in metadata.distributions()}
    seen: set[str] = set()
    paths: set[Path] = set()
    todo = [_normalise(p) for p in packages]
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        dist = installed[name]
        base = Path(str(dist.locate_file(""))).resolve()
        for entry in dist.files or []:
            top = Path(str(entry)).parts[0]
            if top not in ("..", "__pycache__") and (base / top).exists():
                paths.add(base / top)
        todo.extend(_normalise(n) for n in _requirement_names(dist))
    return sorted(paths)


def missing_packages(packages: list[str]) -> list[str]:
    installed = {_normalise(d.metadata["Name"] or "") for d in metadata.distributions()}
    return [p for p in packages if _normalise(p) not in installed]


def _site_dirs() -> list[str]:
    dirs = set(site.getsitepackages()) | {site.getusersitepackages()}
    return sorted(d for d in dirs if os.path.isdir(d))


def _python_binds(packages: list[str]) -> list[str]:
    """The interpreter's prefixes shown whole, their site-packages emptied, then the allowed ones shown."""
    args: list[str] = []
    for prefix in sorted({sys.base_prefix, sys.prefix}):
        args += ["--ro-bind", prefix, prefix]
    executable = os.path.realpath(sys.executable)
    if not any(executable.startswith(p + "/") for p in (sys.base_prefix, sys.prefix, "/usr")):
        args += ["--ro-bind", executable, executable]
    for directory in _site_dirs():
        args += ["--tmpfs", directory]
    for path in package_paths(packages):
        args += ["--ro-bind", str(path), str(path)]
    return args


def _system_binds() -> list[str]:
    args: list[str] = []
    for link in ROOT_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    for path in SYSTEM_DIRS + SYSTEM_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _destinations(mounts: list[str]) -> Iterator[tuple[str, str]]:
    """(operation, path inside the view) of each bubblewrap mount argument."""
    i = 0
    while i < len(mounts):
        op = mounts[i]
        if op in ("--ro-bind", "--bind", "--dev-bind", "--symlink"):
            yield op, mounts[i + 2]
            i += 3
        elif op in ("--tmpfs", "--dev", "--proc", "--dir", "--chdir"):
            yield op, mounts[i + 1]
            i += 2
        else:
            i += 1


def _parents_first(mounts: list[str]) -> list[str]:
    """Create every mount point's parent folders world-traversable, before the mounts need them.

    bubblewrap would make them private to root, and the candidate runs as nobody.
    """
    parents = {str(p) for _, d in _destinations(mounts) for p in Path(d).parents if str(p) != "/"}
    args: list[str] = []
    for parent in sorted(parents, key=lambda p: (p.count("/"), p)):
        args += ["--perms", "0755", "--dir", parent]
    return args + mounts


def candidate_bwrap_command(public_dir: Path, program_dir: Path, packages: list[str], max_disk_mb: int,
                            gpus: float) -> list[str]:
    """A bubblewrap prefix for the candidate's fork server, which drops to ``NOBODY`` itself."""
    flags = [
        "bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--new-session", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
    ]
    cmd = _system_binds()
    cmd += ["--dev-bind", "/dev", "/dev"] if gpus > 0 else ["--dev", "/dev"]
    cmd += ["--proc", "/proc"]
    cmd += _python_binds(packages)
    cmd += ["--ro-bind", str(HOST_PACKAGE), f"{INSIDE_ROOT}/evolve_candidate",
            "--ro-bind", str(public_dir), f"{INSIDE_ROOT}/public",
            "--ro-bind", str(program_dir), f"{INSIDE_ROOT}/program"]
    cmd += ["--perms", "1777", "--size", str(max_disk_mb * 1024 * 1024), "--tmpfs", SCRATCH]
    cmd += _temp_links(cmd) + ["--chdir", SCRATCH]
    return flags + _parents_first(cmd)


def _temp_links(mounts: list[str]) -> list[str]:
    """/tmp and /var/tmp lead into the scratch tmpfs, unless something shown lies inside one
    (an interpreter installed under /tmp): that one stays a read-only folder, and the
    candidate's TMPDIR, which is always in its scratch workdir, is where it writes."""
    shown = [path for op, path in _destinations(mounts) if op in ("--ro-bind", "--bind")]
    links: list[str] = []
    for temp in ("/tmp", "/var/tmp"):
        if not any(path.startswith(temp + "/") for path in shown):
            links += ["--symlink", f"{SCRATCH}/tmp", temp]
    return links
