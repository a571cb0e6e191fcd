"""Writing one benchmark's section of docs/benchmarks.md, leaving every other section as it is."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def machine_line() -> str:
    """Where and when: the facts a reader needs to compare a figure with their own."""
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    load = os.getloadavg()[0]
    return (f"Machine: {os.cpu_count()} cores ({cpu_model()}), {memory_gb:.0f} GB, {platform.system()} "
            f"{platform.machine()}, CPython {platform.python_version()}; load average {load:.1f} when written "
            f"(other work shares these cores). Date: {today}.")


def write_section(title: str, body: str, path: Path = DOCS) -> None:
    """Replace the section ``## title`` (up to the next ``## ``) or append it at the end."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
    print(f"wrote section '{title}' of {path.relative_to(ROOT)}", file=sys.stderr)
