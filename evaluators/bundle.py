"""A problem folder packed as bytes, so it travels with a Ray job instead of by path.

Workers unpack it into a directory named by its content hash: every slot on a node, and
every run of the same files, shares one copy, and a changed problem never reuses a stale
one. The hash covers the files alone (names, modes, contents; no time stamps, gzip's
included), so the same files always give the same hash. Each process that unpacks a copy
notes itself as a user of it; a copy whose users have all exited is removed the next time
any process unpacks a problem on that node.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SKIPPED = {"__pycache__", ".git", ".pytest_cache"}


def pack_problem(root: Path) -> tuple[str, bytes]:
    """Return (content hash, gzip tarball) of the problem folder, deterministic in its files."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if _SKIPPED.intersection(relative.parts) or not path.is_file():
                continue
            info = tar.gettarinfo(str(path), arcname=str(relative))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.pax_headers = {}
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    data = plain.getvalue()
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=1, mtime=0) as compressed:
        compressed.write(data)
    return hashlib.sha256(data).hexdigest()[:16], packed.getvalue()


def _users_dir(base: Path) -> Path:
    return base.with_name(base.name + ".users")


@contextmanager
def _locked(base: Path) -> Iterator[Path]:
    """One process at a time decides about the node's copies (unpacking, noting, removing)."""
    users = _users_dir(base)
    users.mkdir(parents=True, exist_ok=True)
    with open(users / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield users
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_unused(base: Path, keep: str | None = None) -> list[str]:
    """Remove the copies no living process uses (call with the lock held); returns their hashes."""
    users = _users_dir(base)
    removed = []
    for copy in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")) if base.is_dir() else []:
        if copy.name == keep:
            continue
        noted = users / copy.name
        living = [m for m in noted.iterdir() if m.name.isdigit() and _alive(int(m.name))] if noted.is_dir() else []
        if living:
            continue
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(noted, ignore_errors=True)
        removed.append(copy.name)
    return removed


def unpack_problem(digest: str, data: bytes, cache_dir: Path | None = None) -> Path:
    """Unpack once per content hash, note this process as a user, and remove unused copies."""
    base = cache_dir or Path(tempfile.gettempdir()) / "evolve-problems"
    base.mkdir(parents=True, exist_ok=True)
    target = base / digest
    with _locked(base) as users:
        (users / digest).mkdir(exist_ok=True)
        (users / digest / str(os.getpid())).touch()
        if not target.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=base))
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                tar.extractall(staging, filter="data")
            os.chmod(staging, 0o755)
            staging.rename(target)
        remove_unused(base, keep=digest)
    return target
