"""The mutator contract's defaults, as the engine relies on them."""

from __future__ import annotations

import pytest

from evolve.engine import MutatorContractError
from evolve.mutation import MutationRequest, Mutator, Proposal
from evolve.offline import OfflineMutator
from evolve.statuses import Origin
from tests.evolve.test_engine import evaluator, make_engine, problem  # noqa: F401 (fixtures)


class Plain(Mutator):
    name = "plain"

    async def propose(self, request: MutationRequest) -> Proposal:
        return Proposal(None, Origin.DIFF, error="nothing to say")


def test_a_mutator_must_write_propose():
    class Empty(Mutator):
        pass

    with pytest.raises(TypeError, match="propose"):
        Empty()


def test_the_defaults_state_no_cost_learn_nothing_and_keep_nothing():
    mutator = Plain()
    assert mutator.max_call_cost_usd() is None
    assert mutator.default_origin == Origin.DIFF
    assert mutator.observe("m", 1.0, 0.5) is None
    assert mutator.state() is None


def test_a_budget_needs_a_stated_cost(problem, evaluator, tmp_path):  # noqa: F811
    with pytest.raises(MutatorContractError, match="the plain mutator states no max_call_cost_usd"):
        make_engine(problem, evaluator, tmp_path, Plain(), iterations=1, budget_usd=1.0)
    engine, _, _ = make_engine(problem, evaluator, tmp_path, Plain(), iterations=1)
    assert engine.mutator.name == "plain"


def test_the_offline_mutator_pays_nothing_and_says_so():
    mutator = OfflineMutator()
    assert mutator.max_call_cost_usd() == 0.0 and mutator.default_origin == Origin.OFFLINE
