"""A problem folder packed as bytes, so it travels with a Ray job instead of by path.

Workers unpack it into a directory named by its content hash: every slot on a node
shares one copy, and a changed problem never reuses a stale one.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

_SKIPPED = {"__pycache__", ".git", ".pytest_cache"}


def pack_problem(root: Path) -> tuple[str, bytes]:
    """Return (content hash, gzip tarball) of the problem folder, deterministic in its files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if _SKIPPED.intersection(relative.parts) or not path.is_file():
                continue
            info = tar.gettarinfo(str(path), arcname=str(relative))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest()[:16], data


def unpack_problem(digest: str, data: bytes, cache_dir: Path | None = None) -> Path:
    """Unpack once per content hash; concurrent slots race safely through an atomic rename."""
    base = cache_dir or Path(tempfile.gettempdir()) / "evolve-problems"
    base.mkdir(parents=True, exist_ok=True)
    target = base / digest
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=base))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(staging, filter="data")
    os.chmod(staging, 0o755)
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
    return target
