"""Two Ray nodes on loopback (``ray start --head`` and ``ray start --address``): slots spread over both.

The cluster (tests/support/loopback_cluster.py) has its own ports and temporary directory
and is stopped by signalling exactly its own processes; none may outlive it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from tests.support import loopback_cluster

DRIVER = textwrap.dedent(
    """\
    import asyncio, json, sys
    from evolve.evaluators.pool import EvaluationPool
    from evolve.evaluators.problem import load_problem

    problem = load_problem(sys.argv[1])
    pool = EvaluationPool(problem, slots=2, ray_address=sys.argv[2])

    async def main():
        codes = [problem.seed_code.replace("return x", f"return x + {i}") for i in range(8)]
        return await asyncio.gather(*(pool.evaluate(code) for code in codes))

    results = asyncio.run(main())
    print("RESULT " + json.dumps({"nodes": pool.nodes(), "results": [r.to_dict() for r in results]}))
    pool.close()
    """
)


@pytest.fixture
def two_node_cluster() -> Iterator[tuple[str, dict[str, str]]]:
    with loopback_cluster.two_node_cluster(object_store_mb=80) as (address, env):
        yield address, env


@pytest.mark.slow
def test_candidates_are_evaluated_on_both_nodes(two_node_cluster, tiny_problem):
    address, env = two_node_cluster
    problem = tiny_problem()
    run = subprocess.run([sys.executable, "-c", DRIVER, str(problem.root), address], capture_output=True,
                         text=True, env=env, timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stderr[-3000:]
    report = json.loads(lines[0][len("RESULT "):])
    node_ids = {node.split("@")[0] for node in report["nodes"]}
    assert len(node_ids) == 2
    results = report["results"]
    assert [r["status"] for r in results] == ["ok"] * 8
    assert [r["score"] for r in results] == [2.0 + i for i in range(8)]
    assert {r["node"].split("@")[0] for r in results} == node_ids
