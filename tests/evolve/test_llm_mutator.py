import asyncio

from evolve.config import LLMSettings, ModelSettings
from evolve.llm_mutator import LLMMutator
from evolve.regions import frozen_text

MALFORMED = "<<<<<<< SEARCH\nTHRESHOLD = 5\nno divider follows\n"


def llm_settings(server, names=("openai/test-model",), **overrides) -> LLMSettings:
    models = [
        ModelSettings(name=name, api_base=server.api_base, price_in_per_mtok=1.0, price_out_per_mtok=4.0)
        for name in names
    ]
    defaults = {"timeout_s": 5.0, "retries": 1, "backoff_base_s": 0.01, "diff_ratio": 1.0}
    return LLMSettings(models=models, **{**defaults, **overrides})


def propose(mutator, request):
    return asyncio.run(mutator.propose(request))


def test_diff_proposal_end_to_end(openai_server, make_request, program_code):
    mutator = LLMMutator(llm_settings(openai_server), rng_seed=1)
    proposal = propose(mutator, make_request())
    assert proposal.error is None and proposal.origin == "diff"
    assert proposal.code != program_code
    assert frozen_text(proposal.code) == frozen_text(program_code)
    assert proposal.model == "openai/test-model"
    assert proposal.diff.startswith("--- parent")
    (call,) = proposal.llm_calls
    assert call.kind == "mutation" and call.parsed_edit.startswith("<<<<<<< SEARCH")
    assert call.tokens_in > 0 and call.cost_usd > 0
    assert "Pack items into as few bins" in call.prompt


def test_rewrite_proposal_end_to_end(openai_server, make_request, program_code):
    mutator = LLMMutator(llm_settings(openai_server, diff_ratio=0.0), rng_seed=1)
    proposal = propose(mutator, make_request())
    assert proposal.error is None and proposal.origin == "rewrite"
    assert frozen_text(proposal.code) == frozen_text(program_code) and proposal.code != program_code
    assert "<<<<<<< SEARCH" not in openai_server.requests[0].messages[-1]["content"]


def test_rejected_edit_gets_one_repair_turn_with_the_reason(openai_server, server_module, make_request):
    openai_server.script(server_module.Reply(MALFORMED))
    mutator = LLMMutator(llm_settings(openai_server), rng_seed=1)
    proposal = propose(mutator, make_request())
    assert proposal.error is None and proposal.code is not None
    assert [c.kind for c in proposal.llm_calls] == ["mutation", "repair"]
    repair_request = openai_server.requests[1].messages
    assert repair_request[-2] == {"role": "assistant", "content": MALFORMED}
    assert "missing the '=======' line" in repair_request[-1]["content"]
    assert proposal.llm_calls[0].parsed_edit is None and proposal.llm_calls[1].parsed_edit


def test_edit_failing_after_the_repair_is_a_failed_proposal(openai_server, make_request):
    openai_server.set_mode("malformed")
    mutator = LLMMutator(llm_settings(openai_server, repair_turns=1), rng_seed=1)
    proposal = propose(mutator, make_request())
    assert proposal.code is None
    assert proposal.error.startswith("edit not applied (after 1 repair turn(s))")
    assert len(proposal.llm_calls) == 2 and all(c.error is None for c in proposal.llm_calls)


def test_without_repair_turns_a_bad_edit_fails_at_once(openai_server, server_module, make_request):
    openai_server.script(server_module.Reply("<<<<<<< SEARCH\nTHRESHOLD = 6\n=======\nTHRESHOLD = 1\n>>>>>>> REPLACE\n"))
    mutator = LLMMutator(llm_settings(openai_server, repair_turns=0), rng_seed=1)
    proposal = propose(mutator, make_request())
    assert proposal.code is None and "does not occur" in proposal.error
    assert len(proposal.llm_calls) == 1


def test_failed_call_is_returned_with_its_record(openai_server, make_request):
    openai_server.set_mode("server-error")
    mutator = LLMMutator(llm_settings(openai_server, retries=1), rng_seed=1)
    proposal = propose(mutator, make_request())
    assert proposal.code is None and proposal.error.startswith("LLM call failed: InternalServerError")
    (call,) = proposal.llm_calls
    assert call.error and call.response is None and call.cost_usd == 0.0


def test_mode_and_model_depend_only_on_the_seeds(openai_server, make_request):
    settings = llm_settings(openai_server, names=("openai/a", "openai/b"), diff_ratio=0.5)
    first, second = LLMMutator(settings, rng_seed=3), LLMMutator(settings, rng_seed=3)
    picks = []
    for seed in range(12):
        a = propose(first, make_request(seed=seed))
        b = propose(second, make_request(seed=seed))
        assert (a.origin, a.model) == (b.origin, b.model)
        picks.append((a.origin, a.model))
    assert {origin for origin, _ in picks} == {"diff", "rewrite"}
    assert {model for _, model in picks} == {"openai/a", "openai/b"}


def test_worst_case_cost_bounds_the_real_cost(openai_server, server_module, make_request):
    settings = llm_settings(openai_server, repair_turns=1)
    settings.models[0].max_tokens = 50
    openai_server.script(server_module.Reply(MALFORMED, completion_tokens=50))
    mutator = LLMMutator(settings, rng_seed=1)
    request = make_request()
    bound = mutator.max_call_cost_usd(request)
    proposal = propose(mutator, request)
    assert len(proposal.llm_calls) == 2
    assert 0 < sum(c.cost_usd for c in proposal.llm_calls) <= bound
    assert mutator.max_call_cost_usd() > 0
    no_repair_settings = llm_settings(openai_server, repair_turns=0)
    no_repair_settings.models[0].max_tokens = 50
    no_repair = LLMMutator(no_repair_settings, rng_seed=1)
    assert no_repair.max_call_cost_usd(request) < bound


def test_free_models_have_no_worst_case_cost(openai_server, make_request):
    settings = LLMSettings(models=[ModelSettings(name="openai/local-free", api_base=openai_server.api_base)])
    assert LLMMutator(settings, rng_seed=0).max_call_cost_usd(make_request()) == 0.0


def test_bandit_feedback_steers_choice_and_survives_a_restart(openai_server, make_request):
    settings = llm_settings(openai_server, names=("openai/a", "openai/b"), bandit=True)
    mutator = LLMMutator(settings, rng_seed=1)
    for seed in range(16):
        proposal = propose(mutator, make_request(seed=seed))
        cost = sum(c.cost_usd for c in proposal.llm_calls)
        mutator.observe(proposal.model, 1.0 if proposal.model == "openai/a" else 0.0, cost)
    state = mutator.state()
    assert state["arms"]["openai/a"]["selected"] > state["arms"]["openai/b"]["selected"]
    resumed = LLMMutator(settings, rng_seed=1)
    resumed.load_state(state)
    assert resumed.state() == state
    assert propose(resumed, make_request(seed=99)).model == propose(mutator, make_request(seed=99)).model


def test_prompt_for_shows_exactly_what_propose_sends(openai_server, make_request):
    mutator = LLMMutator(llm_settings(openai_server, diff_ratio=0.5), rng_seed=4)
    for seed in range(4):
        request = make_request(seed=seed)
        mode, messages = mutator.prompt_for(request)
        before = len(openai_server.requests)
        proposal = propose(mutator, request)
        assert proposal.origin == mode
        assert openai_server.requests[before].messages == messages
