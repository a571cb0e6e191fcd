"""Rebuild traces.npz from the upstream real_traces.tar.gz (kept out of the repo).

Keeps, for each of the 9 zones and 100 time-aligned windows, the availability ticks and
the first spot price (the price the simulator bills). AppleDouble `._*` entries are
skipped. Usage: python build_traces.py path/to/real_traces.tar.gz
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import numpy as np

ZONES = (
    "us-east-1a_v100_1", "us-east-1c_v100_1", "us-east-1d_v100_1", "us-east-1f_v100_1",
    "us-east-2a_v100_1", "us-east-2b_v100_1", "us-west-2a_v100_1", "us-west-2b_v100_1",
    "us-west-2c_v100_1",
)
WINDOWS = 100
MEMBER = "converted_multi_region_aligned/{zone}/{k}.json"


def build(tarball: Path, out: Path) -> None:
    unavailable, first_price, start = [], [], []
    gap = None
    with tarfile.open(tarball) as archive:
        for zone in ZONES:
            rows, prices, starts = [], [], []
            for k in range(WINDOWS):
                member = archive.extractfile(MEMBER.format(zone=zone, k=k))
                if member is None:
                    raise FileNotFoundError(MEMBER.format(zone=zone, k=k))
                trace = json.load(member)
                gap = trace["metadata"]["gap_seconds"]
                rows.append([1 if v else 0 for v in trace["data"]])
                prices.append(float(trace["prices"][0]))
                starts.append(trace["metadata"]["start_time"])
            unavailable.append(rows)
            first_price.append(prices)
            start.append(starts)
    np.savez_compressed(
        out,
        unavailable=np.asarray(unavailable, dtype=np.uint8),
        first_spot_price=np.asarray(first_price, dtype=np.float64),
        start_time=np.asarray(start[0]),
        zones=np.asarray(ZONES),
        gap_seconds=np.float64(gap),
    )


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(__file__).parent / "traces.npz")
