#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it.
# System packages: bubblewrap (sandbox), PostgreSQL 15 (the Postgres back end is tested
# against a real server), Chromium and its driver (the web UI is tested in a browser).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
command -v g++ >/dev/null || need_apt+=(g++)
[ -x /usr/bin/rustc ] || need_apt+=(rustc)  # the sandbox shows /usr only, not ~/.cargo
[ -x /usr/bin/cargo ] || need_apt+=(cargo)  # OpenEvolve-format evaluators that shell out to cargo
command -v chromium >/dev/null || need_apt+=(chromium chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# R without its recommended set (hundreds of packages): Rscript and jsonlite are what the R evaluator uses.
need_bare=()
[ -x /usr/bin/Rscript ] || need_bare+=(r-base-core)
[ -d /usr/lib/R/site-library/jsonlite ] || need_bare+=(r-cran-jsonlite)
sudo_=(); [ "$(id -u)" = 0 ] || sudo_=(sudo)
if [ ${#need_apt[@]} -gt 0 ] || [ ${#need_bare[@]} -gt 0 ]; then
    "${sudo_[@]}" apt-get update -qq
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
if [ ${#need_bare[@]} -gt 0 ]; then
    "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_bare[@]}"
fi

# torch first, pinned: this machine holds a local CPU build of 2.13.0, while an unpinned
# torch would pull gigabytes of CUDA packages. The [gpu] extra then adds Triton, whose
# interpreter runs the kernel problems' correctness stage without a GPU; [problems] adds what the
# bundled problems let their candidates import.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev,gpu,problems]"

ruff check .
python -m pytest -q "$@"
